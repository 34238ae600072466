// Type-checked lint: the rules that catch what tests miss (floating promises,
// misused promises, unsafe any at boundaries).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'native-bench/build/**', 'bin/**', 'eslint.config.mjs', 'vitest.config.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // async without await is how an interface method returns a promise; not a bug.
      '@typescript-eslint/require-await': 'off',
      // Reports casts that tsc (with exactOptionalPropertyTypes) needs: false positives here.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // The product never reaches into the tools (load generators, benchmarks, the Asterisk simulator, doubles).
    files: ['common/src/**/*.ts', 'engine/src/**/*.ts', 'control/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/tools/**'], message: 'The product does not import tooling (tools/).' }] }],
    },
  },
  {
    // control/ uses the engine through its public door, engine/src/index.ts.
    files: ['control/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/tools/**'], message: 'The product does not import tooling (tools/).' },
            { group: ['**/engine/src/**', '!**/engine/src/index.js'], message: "Import the engine through engine/src/index.js, its public surface." },
          ],
        },
      ],
    },
  },
  {
    // The engine does not know the control plane; common/ knows neither.
    files: ['engine/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/tools/**'], message: 'The product does not import tooling (tools/).' },
            { group: ['**/control/src/**'], message: 'The engine does not depend on the control plane.' },
          ],
        },
      ],
    },
  },
  {
    files: ['common/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/engine/**', '**/control/**', '**/tools/**'], message: 'common/ is shared by both halves and imports neither.' }] }],
    },
  },
);
