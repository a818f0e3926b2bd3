/**
 * Vigil's layers, as dependency-cruiser rules (run by `npm run lint`). ARCHITECTURE.md explains them;
 * a test checks that its table lists the same layers in the same order.
 *
 * A module imports only from its own area or from an area listed BEFORE it (lower). Tests, benches,
 * fixtures and fakes may reach anywhere, but production code never imports them. No cycles at all.
 */
const LAYERS = [
  ['ground', '(types|errors|version)\\.ts$'],
  ['diagnostics', 'diagnostics/'],
  ['schema', 'schema/'],
  ['wire', 'wire/'],
  ['assertions', 'assertions/'],
  ['canary', 'canary/'],
  ['protocols', 'protocols/'],
  ['store', 'store/'],
  ['alerting', 'alerting/'],
  ['actions', 'actions/'],
  ['config', 'config/'],
  ['discovery', 'discovery/'],
  ['probe', 'probe/'],
  ['evaluate', 'evaluate/'],
  ['scheduler', 'scheduler/'],
  ['metrics', 'metrics/'],
  ['hub', 'hub/'],
  ['router', 'router/'],
  ['agent', 'agent/'],
  ['api', 'api/'],
  ['daemon', 'daemon/'],
  ['cli', 'cli/'],
  ['entry', 'index\\.ts$'],
];

const SRC = '(^|/)src/';
const TEST_CODE =
  '/(adapter-)?contract\\.ts$|\\.(test|bench|contract|e2e\\.test)\\.ts$|/(fixtures|fakes)/|/test-[^/]*\\.ts$|/testing\\.ts$';
const pathOf = ([, pattern]) => `${SRC}${pattern}`;

const upward = LAYERS.slice(0, -1).map((layer, index) => ({
  name: `layer-${layer[0]}`,
  comment: `${layer[0]} may import only from its own area or from: ${
    LAYERS.slice(0, index)
      .map(([name]) => name)
      .join(', ') || '(nothing: it is the ground)'
  } (see ARCHITECTURE.md)`,
  severity: 'error',
  from: { path: pathOf(layer), pathNot: TEST_CODE },
  to: { path: LAYERS.slice(index + 1).map(pathOf) },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles, at any distance (ARCHITECTURE.md).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-test-code-in-production',
      comment: 'Production code never imports tests, benches, fixtures or fakes.',
      severity: 'error',
      from: { path: SRC, pathNot: TEST_CODE },
      to: { path: TEST_CODE },
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['source', 'import', 'require', 'node', 'default'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json'],
    },
  },
};
