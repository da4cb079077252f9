// The frame of every signed-in screen: navigation, the session indicator, the screen.

import { useEffect, useRef } from 'react';
import { NavLink, Outlet, useLocation } from 'react-router';

import { SessionIndicator } from './SessionIndicator';

const LINKS = [
  ['/study', 'Study'],
  ['/decks', 'Decks'],
  ['/browse', 'Browse'],
  ['/notes/new', 'Add'],
  ['/stats', 'Stats'],
  ['/transfer', 'Import/Export'],
  ['/account', 'Account'],
] as const;

export function Layout() {
  const nav = useRef<HTMLElement>(null);
  const { pathname } = useLocation();
  // On a phone the navigation scrolls sideways: keep the current screen's link in view.
  useEffect(() => {
    nav.current?.querySelector('a.active')?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }, [pathname]);
  return (
    <div className="app">
      <header className="app-header">
        <span className="brand">Javumbo</span>
        <nav aria-label="Main" ref={nav}>
          {LINKS.map(([to, label]) => (
            <NavLink key={to} to={to} end={to === '/notes/new'}>
              {label}
            </NavLink>
          ))}
        </nav>
        <SessionIndicator />
      </header>
      <main className="app-main">
        <Outlet />
      </main>
    </div>
  );
}
