// A learner's whole journey in a real browser, one step per test so the report shows which
// steps work: register, create a deck, add notes of each type, browse, study five cards with
// the keyboard, undo one, see the statistics change, save the session, export, re-import,
// and import the export into a second learner.

import { expect, test, type Locator, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test.describe.configure({ mode: 'serial' });

const run = Date.now().toString(36);
const learner = { username: `e2e-${run}`, password: 'correct horse battery' };
const second = { username: `e2e-${run}-b`, password: 'correct horse battery' };
const deckName = 'E2E::Verbs';
const deckQuery = `deck:"${deckName}"`;
const exportPath = join(tmpdir(), `javumbo-e2e-${run}.apkg`);
let page: Page;

/** Copies the package in argv[1] to argv[2] with 5 MiB of incompressible media added. */
const WITH_NOISE_MEDIA = `
import json, os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as source, zipfile.ZipFile(sys.argv[2], "w") as target:
    media = json.loads(source.read("media") or b"{}")
    for item in source.infolist():
        if item.filename != "media":
            target.writestr(item, source.read(item.filename))
    index = str(len(media))
    media[index] = "e2e-noise.jpg"
    target.writestr("media", json.dumps(media))
    target.writestr(index, os.urandom(5 * 1024 * 1024))
`;

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  // Shown in the report: what the browser could not load (leaving a page aborts its requests).
  page.on('requestfailed', (request) => {
    const reason = request.failure()?.errorText ?? '';
    if (reason !== 'net::ERR_ABORTED') console.log(`request failed: ${request.method()} ${request.url()} ${reason}`);
  });
});

test.afterAll(async () => {
  await page.close();
  rmSync(exportPath, { force: true });
});

async function register(username: string, password: string): Promise<void> {
  await page.goto('/signup');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByLabel('Time zone').fill('Europe/Lisbon');
  await page.getByLabel(/Start with the sample deck/).uncheck();
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/decks$/);
}

/** Go to a screen through the navigation, and check it fits the phone's width. */
async function openNav(label: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true }).click();
  await expect(page.locator('.app-main h1').first()).toBeVisible();
  await expectNoSidewaysScroll();
}

async function expectNoSidewaysScroll(): Promise<void> {
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect(overflow).toBeLessThanOrEqual(0);
}

async function addNote(type: string, fields: Record<string, string>, tags: string): Promise<string> {
  await openNav('Add');
  await page.getByLabel('Type').selectOption({ label: type });
  await page.getByLabel('Deck').selectOption({ label: deckName });
  for (const [name, value] of Object.entries(fields)) await page.getByLabel(name, { exact: true }).fill(value);
  await page.getByLabel('Tags').fill(tags);
  await page.getByRole('button', { name: 'Add note' }).click();
  const notice = page.getByRole('status').filter({ hasText: 'Added a note with' });
  await expect(notice).toBeVisible();
  return (await notice.textContent()) ?? '';
}

/** What `awaited` gives, or a failure naming the error the page showed instead. */
async function firstOf<T>(awaited: Promise<T>, error: Locator): Promise<T> {
  const shown = error.waitFor({ timeout: 60_000 }).then(async () => {
    throw new Error(`the page showed an error: ${await error.textContent()}`);
  });
  shown.catch(() => undefined);
  awaited.catch(() => undefined);
  return Promise.race([awaited, shown]);
}

async function importFile(path: string): Promise<void> {
  await page.getByLabel('File').setInputFiles(path);
  await page.getByRole('button', { name: 'Import' }).click();
  const finished = page.getByText('Import finished.');
  await firstOf(finished.waitFor({ timeout: 60_000 }), page.locator('.banner-error').first());
}

async function countsText(): Promise<string> {
  return (await page.getByLabel('Cards left today').textContent())?.replace(/\s+/g, '') ?? '';
}

/** Today's reviews on the statistics screen (which may first show what it had cached). */
async function expectTodayReviews(text: string): Promise<void> {
  await openNav('Stats');
  await expect(page.getByTestId('today-reviews')).toHaveText(text);
}

test('test_it_registers_a_learner_and_opens_their_decks', async () => {
  await register(learner.username, learner.password);
  await expect(page.getByRole('heading', { name: 'Decks' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Session' })).toContainText(/All saved|pending/);
});

test('test_it_shows_field_errors_next_to_the_fields', async () => {
  await page.getByLabel('New deck').fill('A::::B');
  await page.getByRole('button', { name: 'Create deck' }).click();
  const field = page.locator('.field', { has: page.getByLabel('New deck') });
  await expect(field.locator('.field-error')).toContainText('empty part');
  await expect(page.getByLabel('New deck')).toHaveAttribute('aria-invalid', 'true');
});

test('test_it_creates_a_nested_deck', async () => {
  await page.getByLabel('New deck').fill(deckName);
  await page.getByRole('button', { name: 'Create deck' }).click();
  await expect(page.locator('tr[data-deck="E2E"]')).toBeVisible();
  await expect(page.locator(`tr[data-deck="${deckName}"]`)).toBeVisible();
});

test('test_it_renames_and_deletes_a_deck_after_confirmation', async () => {
  await page.getByLabel('New deck').fill('Scratch');
  await page.getByRole('button', { name: 'Create deck' }).click();
  const scratch = page.locator('tr[data-deck="Scratch"]');
  await scratch.getByLabel('Actions for Scratch').click();
  await scratch.getByRole('button', { name: 'Rename' }).click();
  await page.getByLabel('Rename “Scratch”').fill('Scratch pad');
  await page.getByRole('button', { name: 'Rename', exact: true }).click();
  const renamed = page.locator('tr[data-deck="Scratch pad"]');
  await expect(renamed).toBeVisible();
  await renamed.getByLabel('Actions for Scratch pad').click();
  await renamed.getByRole('button', { name: 'Delete' }).click();
  const confirm = page.getByRole('alertdialog', { name: 'Delete Scratch pad' });
  await expect(confirm).toContainText('with 0 cards');
  await confirm.getByRole('button', { name: 'Delete deck' }).click();
  await expect(renamed).toHaveCount(0);
  await expect(page.locator(`tr[data-deck="${deckName}"]`)).toBeVisible();
});

test('test_it_saves_deck_options_and_shows_their_range_errors', async () => {
  const row = page.locator(`tr[data-deck="${deckName}"]`);
  await row.getByLabel(`Actions for ${deckName}`).click();
  await row.getByRole('link', { name: 'Options' }).click();
  await expect(page.getByRole('heading', { name: `Options of “${deckName}”` })).toBeVisible();
  await page.getByLabel('New cards per day').fill('-1');
  await page.getByRole('button', { name: 'Save options' }).click();
  const field = page.locator('.field', { has: page.getByLabel('New cards per day') });
  await expect(field.locator('.field-error')).toBeVisible();
  await page.getByLabel('New cards per day').fill('25');
  await page.getByRole('button', { name: 'Save options' }).click();
  await expect(page.getByText('Options saved.')).toBeVisible();
  await page.reload();
  await expect(page.getByLabel('New cards per day')).toHaveValue('25');
  await openNav('Decks');
});

test('test_it_adds_a_basic_a_reversed_and_a_cloze_note', async () => {
  expect(await addNote('Basic', { Front: 'hablar', Back: 'to speak' }, 'verbs::ar')).toContain('1 card');
  expect(await addNote('Basic (and reversed card)', { Front: 'comer', Back: 'to eat' }, 'verbs::er')).toContain(
    '2 cards',
  );
  const cloze = await addNote('Cloze', { Text: '{{c1::Vivir}} means {{c2::to live}}', 'Back Extra': '' }, 'verbs::ir');
  expect(cloze).toContain('2 cards');
});

test('test_it_browses_searches_and_suspends_a_card', async () => {
  await openNav('Browse');
  await page.getByRole('searchbox', { name: 'Search cards' }).fill(deckQuery);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByText('5 cards', { exact: true })).toBeVisible();
  await page.getByRole('searchbox', { name: 'Search cards' }).fill(`${deckQuery} tag:verbs::er`);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByText('2 cards', { exact: true })).toBeVisible();
  const first = page.locator('.card-row').first();
  await first.getByRole('button', { name: 'Suspend' }).click();
  await expect(first.getByRole('button', { name: 'Unsuspend' })).toBeVisible();
  await expect(first).toContainText('Suspended');
  await first.getByRole('button', { name: 'Unsuspend' }).click();
  await expect(first.getByRole('button', { name: 'Suspend' })).toBeVisible();
});

test('test_it_reopens_a_client_route_after_a_reload', async () => {
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Browse' })).toBeVisible();
  const unknownApi = await page.request.get('/api/no-such-route');
  expect(unknownApi.status()).toBe(404);
  expect(await unknownApi.json()).toMatchObject({ code: 'not_found' });
});

test('test_it_shows_no_reviews_today_before_studying', async () => {
  await expectTodayReviews('0 reviews');
});

test('test_it_studies_five_cards_with_the_keyboard_and_undoes_one', async () => {
  await openNav('Decks');
  await page.locator(`tr[data-deck="${deckName}"]`).getByRole('button', { name: 'Verbs' }).click();
  await expect(page).toHaveURL(/\/study\?deck=\d+$/);
  await expect.poll(countsText).toBe('5+0+0');
  for (let studied = 1; studied <= 5; studied++) {
    await expect(page.getByRole('button', { name: /Show answer/ })).toBeVisible();
    await page.keyboard.press('Space');
    const easy = page.getByRole('button', { name: /Easy/ });
    await expect(easy).toBeVisible();
    // A new card answered Easy graduates at the preset's easy interval: 4 days (Anki's default).
    await expect(easy).toContainText('4d');
    await page.keyboard.press('4');
    if (studied < 5) await expect.poll(countsText).toBe(`${5 - studied}+0+0`);
  }
  await expect(page.getByText('Congratulations, nothing due now')).toBeVisible();
  await page.keyboard.press('z');
  await expect(page.getByRole('button', { name: /Show answer/ })).toBeVisible();
  await expect.poll(countsText).toBe('1+0+0');
  await page.keyboard.press('Enter');
  await page.keyboard.press('4');
  await expect(page.getByText('Congratulations, nothing due now')).toBeVisible();
  await expect(page.getByRole('status')).toContainText(/Next card: |Nothing is scheduled/);
});

test('test_it_shows_the_statistics_change', async () => {
  await expectTodayReviews('5 reviews');
  await expect(page.locator('li[data-state="new"]')).toContainText('New 0');
  await expect(page.locator('li[data-state="young"]')).toContainText('Young 5');
  await expect(page.locator('svg.heatmap rect[data-count="5"]')).toHaveCount(1);
  await expect(page.getByRole('img', { name: /cards due in the next 30 days/ })).toBeVisible();
  await expectNoSidewaysScroll();
});

test('test_it_saves_the_session_now', async () => {
  const session = page.getByRole('region', { name: 'Session' });
  await expect(session).toContainText(/changes? pending/);
  await session.getByRole('button', { name: 'Save now' }).click();
  await expect(session).toContainText('All saved');
});

test('test_it_exports_the_collection_as_an_apkg', async () => {
  await openNav('Import/Export');
  const downloading = page.waitForEvent('download', { timeout: 60_000 });
  await page.getByRole('button', { name: 'Download .apkg' }).click();
  const download = await firstOf(downloading, page.locator('.banner-error').first());
  expect(download.suggestedFilename()).toMatch(/\.apkg$/);
  await download.saveAs(exportPath);
  expect(readFileSync(exportPath).subarray(0, 2).toString('latin1')).toBe('PK');
});

test('test_it_reimports_its_own_export_without_duplicating_anything', async () => {
  await importFile(exportPath);
  await expect(page.locator('[data-import="Notes"]')).toContainText('0 added');
  await openNav('Browse');
  await page.getByRole('searchbox', { name: 'Search cards' }).fill(deckQuery);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByText('5 cards', { exact: true })).toBeVisible();
});

test('test_it_imports_a_package_too_large_for_lambda_through_storage', async () => {
  // Over 4 MiB the client uploads to S3 with a presigned form, then imports by key.
  const big = join(tmpdir(), `javumbo-e2e-${run}-big.apkg`);
  execFileSync('python3', ['-c', WITH_NOISE_MEDIA, exportPath, big]);
  try {
    await openNav('Import/Export');
    const app = new URL(page.url()).origin;
    const toStorage = page.waitForRequest((request) => request.method() === 'POST' && !request.url().startsWith(app));
    await importFile(big);
    const stored = await (await toStorage).response();
    expect(stored?.status()).toBeLessThan(300);
    await expect(page.locator('[data-import="Notes"]')).toContainText('0 added');
    await expect(page.locator('[data-import="Media"]')).toBeVisible();
  } finally {
    rmSync(big, { force: true });
  }
});

test('test_it_imports_the_export_into_a_second_learner', async () => {
  await openNav('Account');
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page).toHaveURL(/\/signin/);
  await register(second.username, second.password);
  await openNav('Import/Export');
  await importFile(exportPath);
  await expect(page.locator('[data-import="Notes"]')).toContainText('3 added');
  await expect(page.locator('[data-import="Cards"]')).toContainText('5 added');
  await openNav('Decks');
  await expect(page.locator(`tr[data-deck="${deckName}"]`)).toBeVisible();
});

test('test_it_edits_a_note_and_forgets_moves_and_deletes_cards', async () => {
  await openNav('Browse');
  const search = async (q: string, count: string) => {
    await page.getByRole('searchbox', { name: 'Search cards' }).fill(q);
    await page.getByRole('button', { name: 'Search' }).click();
    await expect(page.getByText(count, { exact: true })).toBeVisible();
  };
  await search('hablar', '1 card');
  await page.locator('.card-row').first().getByRole('link').click();
  await expect(page.getByRole('heading', { name: 'Edit note' })).toBeVisible();
  await page.getByLabel('Back', { exact: true }).fill('to speak, to talk');
  await page.getByLabel('Tags').fill('verbs::ar regular');
  await page.getByRole('button', { name: 'Save note' }).click();
  await expect(page.getByText('Saved.')).toBeVisible();
  await openNav('Browse');
  await search('tag:regular', '1 card');
  const row = page.locator('.card-row').first();
  await expect(row.locator('.card-meta')).toContainText('Review');
  await row.getByRole('button', { name: 'Forget' }).click();
  await expect(row.locator('.card-meta')).toContainText('New');
  await row.getByRole('button', { name: 'Move' }).click();
  await row.getByLabel('Move to').selectOption({ label: 'Default' });
  await row.getByRole('button', { name: 'Move', exact: true }).last().click();
  await expect(row.locator('.card-meta')).toContainText('Default');
  await row.getByRole('button', { name: 'Delete' }).click();
  await row.getByRole('button', { name: 'Delete card' }).click();
  await expect(page.getByText('0 cards', { exact: true })).toBeVisible();
  await search(deckQuery, '4 cards');
});

test('test_it_changes_the_profile_and_password_then_deletes_the_account', async () => {
  await openNav('Account');
  await page.getByLabel('Name').fill('Bea');
  await page.getByRole('button', { name: 'Save profile' }).click();
  await expect(page.getByText('Saved.')).toBeVisible();
  await page.getByLabel('Current password').fill('not my password');
  await page.getByLabel('New password').fill('another horse battery');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.locator('.banner-error').first()).toBeVisible();
  await page.getByLabel('Current password').fill(second.password);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByText(/Password changed/)).toBeVisible();
  await page.getByLabel('Your password').fill('another horse battery');
  await page.getByLabel(/I understand/).check();
  await page.getByRole('button', { name: 'Delete my account' }).click();
  await expect(page).toHaveURL(/\/signin/);
  await expect(page.getByText('Your account and its collection are deleted.')).toBeVisible();
  await page.getByLabel('Username').fill(second.username);
  await page.getByLabel('Password').fill('another horse battery');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('Wrong username or password.');
});
