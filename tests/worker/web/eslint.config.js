// ESLint for the review page (worker/web/*.js, browser ES modules) and its browser test (these
// .mjs files). Kept here, not in worker/web/, so that the page's static files never ship it; run
// from the source root with --config (paths below are from there), as test_worker_web.sh does
// with the packages that package.json pins.
import js from '@eslint/js';
import globals from 'globals';

// The page's one state is state.js's: elsewhere it is read, and changed only through update().
const stateWrites = [
  {
    selector:
      "AssignmentExpression[left.type='MemberExpression']:matches([left.object.name='state'], [left.object.object.name='state'])",
    message: 'state is read-only here: change it with update() from state.js',
  },
  {
    selector:
      "UpdateExpression[argument.type='MemberExpression']:matches([argument.object.name='state'], [argument.object.object.name='state'])",
    message: 'state is read-only here: change it with update() or bump() from state.js',
  },
];
// Text from the server or a person goes in as text (textContent), never as markup.
const markup = [
  {
    selector: 'AssignmentExpression[left.property.name=/^(innerHTML|outerHTML)$/]',
    message: 'set textContent or build elements: never innerHTML/outerHTML',
  },
  {
    selector: 'CallExpression[callee.property.name=/^(insertAdjacentHTML|write|writeln)$/]',
    message: 'build elements instead of writing markup',
  },
];

export default [
  {
    files: ['worker/web/**/*.js'],
    ...js.configs.recommended,
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: globals.browser },
    rules: {
      ...js.configs.recommended.rules,
      'no-undef': 'error',
      'no-unused-vars': ['error', { caughtErrors: 'all' }],
      'no-restricted-syntax': ['error', ...stateWrites, ...markup],
      'no-var': 'error',
      'prefer-const': 'error',
      eqeqeq: 'error',
      curly: ['error', 'multi-line'],
    },
  },
  {
    files: ['worker/web/state.js'],
    rules: { 'no-restricted-syntax': ['error', ...markup] },
  },
  {
    files: ['tests/worker/web/**/*.mjs', 'tests/worker/web/**/*.js'],
    ...js.configs.recommended,
    // page.evaluate() callbacks run in the browser, the rest in node.
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.node, ...globals.browser } },
    rules: {
      ...js.configs.recommended.rules,
      'no-undef': 'error',
      'no-unused-vars': ['error', { caughtErrors: 'all' }],
    },
  },
];
