// The app's routes. Every screen but sign-in and sign-up needs a signed-in learner.
// (/register and /login belong to the API: they are the old client's POST aliases.)

import { Navigate, createBrowserRouter } from 'react-router';

import { RequireSignIn } from './auth/RequireSignIn';
import { Layout } from './components/Layout';
import { AccountScreen } from './screens/AccountScreen';
import { BrowseScreen } from './screens/BrowseScreen';
import { DeckOptionsScreen } from './screens/DeckOptionsScreen';
import { DecksScreen } from './screens/DecksScreen';
import { NoteEditorScreen } from './screens/NoteEditorScreen';
import { NotFoundScreen } from './screens/NotFoundScreen';
import { RegisterScreen } from './screens/RegisterScreen';
import { SignInScreen } from './screens/SignInScreen';
import { StatsScreen } from './screens/StatsScreen';
import { StudyScreen } from './screens/StudyScreen';
import { TransferScreen } from './screens/TransferScreen';

export const router = createBrowserRouter([
  { path: '/signin', element: <SignInScreen /> },
  { path: '/signup', element: <RegisterScreen /> },
  {
    path: '/',
    element: (
      <RequireSignIn>
        <Layout />
      </RequireSignIn>
    ),
    children: [
      { index: true, element: <Navigate to="/decks" replace /> },
      { path: 'decks', element: <DecksScreen /> },
      { path: 'decks/:deckId/options', element: <DeckOptionsScreen /> },
      { path: 'study', element: <StudyScreen /> },
      { path: 'browse', element: <BrowseScreen /> },
      { path: 'notes/new', element: <NoteEditorScreen /> },
      { path: 'notes/:noteId', element: <NoteEditorScreen /> },
      { path: 'stats', element: <StatsScreen /> },
      { path: 'transfer', element: <TransferScreen /> },
      { path: 'account', element: <AccountScreen /> },
      { path: '*', element: <NotFoundScreen /> },
    ],
  },
]);
