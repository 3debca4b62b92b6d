/**
 * ESLint (flat config) with typescript-eslint's type-checked rules: the ones that matter in a
 * codebase of streams, queues and workers are the promise rules (a floating or misused promise is
 * a lost error or a shard that never finishes), which need type information. Layering between
 * folders of src/ is checked by dependency-cruiser (.dependency-cruiser.cjs), formatting by
 * Prettier (.prettierrc.json): this file is about bugs, not style.
 */
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'coverage/', 'out/', 'tmp/', '.scratch*/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's describe/it return promises the runner awaits itself.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
      // `_`-prefixed names and rest siblings are how we drop a field on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // An async method that implements a Promise-returning interface needs no await.
      '@typescript-eslint/require-await': 'off',
      // Initialisers kept for the type checker or to drop a reference early ("buf = []") are fine.
      'no-useless-assignment': 'off',
    },
  },
  {
    // Tests and benches parse reports and payloads with JSON.parse (any) and poke at them; their
    // assertions check the shape. src/ keeps the rules: no `any` across a module boundary.
    files: ['test/**', 'bench/**', 'scripts/**'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  {
    // The dashboard's browser script (served as is, no build step).
    files: ['src/dashboard/assets/**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: {
        document: 'readonly',
        window: 'readonly',
        location: 'readonly',
        fetch: 'readonly',
        DOMParser: 'readonly',
        FormData: 'readonly',
        CSS: 'readonly',
        URL: 'readonly',
        getComputedStyle: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        uPlot: 'readonly',
      },
    },
  },
  {
    // Plain JS entry points and thread shims are outside the TypeScript project.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', module: 'writable', require: 'readonly', __dirname: 'readonly' } },
  },
);
