// One lint configuration for the whole repository: ESLint's and typescript-eslint's
// recommended rules. Type-checking itself is `pnpm typecheck`.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/.sortie/**',
      'e2e/.artifacts/**',
      '**/test-results/**',
      '**/playwright-report/**',
      'helm/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // `_`-prefixed names are deliberately unused (callback signatures).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  // Plain scripts run on Node.
  { files: ['**/*.{js,mjs}'], languageOptions: { globals: globals.node } },
  // Playwright fixtures that need no other fixture are written `async ({}, use) => …`.
  { files: ['e2e/**'], rules: { 'no-empty-pattern': 'off' } },
);
