import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', '.stack/', 'node_modules/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // kafkajs and pg-copy-streams may be imported in exactly one file each (see STYLE: one place per client library).
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'kafkajs', message: 'Use services/shared/src/kafka/client.ts.' },
            { name: 'pg-copy-streams', message: 'Use services/shared/src/pg/copy.ts.' },
          ],
        },
      ],
    },
  },
  {
    files: ['services/shared/src/kafka/client.ts', 'services/shared/src/pg/copy.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
