// Lint: typescript-eslint's recommended rules, plus the boundary of the pure domain.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // libs/client/src/schema.ts is written by openapi-typescript (npm run openapi), like docs/openapi.json.
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**', '*.js', '*.mjs', 'libs/client/src/schema.ts'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-require-imports': 'off',
      // Prettier wraps code at 120 columns; this catches what it leaves long (strings, comments, regexes).
      'max-len': ['error', { code: 120, ignoreUrls: true }],
    },
  },
  {
    // The conversation rules are plain functions over plain data: no framework, no I/O.
    files: ['libs/conversation/src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@nestjs/*'], message: 'libs/conversation is pure: no NestJS.' },
            { group: ['typeorm', 'typeorm/*', 'pg', 'pg-*'], message: 'libs/conversation is pure: no database.' },
            {
              group: ['node:*', 'fs', 'crypto', 'http', 'child_process'],
              message: 'libs/conversation is pure: no I/O.',
            },
            { group: ['@app/*', '../../*'], message: 'libs/conversation depends on nothing of this repository.' },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'Date', message: 'time is passed in, never read inside the domain' }],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'ids are passed in' }],
    },
  },
  {
    // The application layer is shared by the API, the CLI, the bench and the tests: no framework, no app.
    files: ['libs/application/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@nestjs/*'], message: 'libs/application is free of NestJS' },
            { group: ['**/apps/**'], message: 'libs never import apps' },
          ],
        },
      ],
    },
  },
  {
    // The event store knows nothing of conversations.
    files: ['libs/event-store/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@app/conversation', '**/apps/**'], message: 'the event store has no domain knowledge' },
          ],
        },
      ],
    },
  },
);
