// Vite builds the client into dist/, which Django serves at / (WhiteNoise, WHITENOISE_ROOT).
// `npm run dev` proxies /api/ to a local Javumbo (make run) so the app runs same-origin.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

const apiTarget = process.env.JAVUMBO_API ?? 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // WhiteNoise serves dist/ at the site root, so hashed assets sit under /assets/.
    assetsDir: 'assets',
    sourcemap: false,
  },
  server: {
    proxy: { '/api': apiTarget },
  },
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
    environment: 'node',
    restoreMocks: true,
  },
});
