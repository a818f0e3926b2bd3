/**
 * The `discovery:` section, validated with the rest of the file: its problems with their paths, and an
 * empty `targets:` allowed only beside it.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from './load.js';

const diagnostics = (text: string) => {
  const result = parseConfig(text, { file: 'v.yaml', baseDir: '/', env: {} });
  return result.ok ? [] : result.diagnostics;
};

describe('discovery:', () => {
  it('accepts every kind, and lets targets be empty', () => {
    expect(
      diagnostics(`targets: []
discovery:
  kubernetes:
    namespaces: [ml]
    inferenceServices: { selector: "team=risk" }
    services: { selector: "vigil.dev/probe=true" }
    pods: { selector: "app=vllm" }
    context: prod
`),
    ).toEqual([]);
  });

  it.each([
    [
      'targets: []\n',
      ['v.yaml:1:1: targets: needs at least one target (or a discovery: section that finds them)'],
    ],
    [
      'targets: []\ndiscovery: { kubernetes: {} }\n',
      [
        'v.yaml:2:14: discovery.kubernetes: discovers nothing: set inferenceServices: true, services: { selector } or pods: { selector }',
      ],
    ],
    [
      'targets: []\ndiscovery: { kubernetes: { namespaces: [ML], services: { selector: "" }, pod: {} } }\n',
      [
        'v.yaml:2:41: discovery.kubernetes.namespaces[0]: expected a Kubernetes namespace name, got "ML"',
        'v.yaml:2:58: discovery.kubernetes.services.selector: must not be empty (a selector that matches everything would probe every Service)',
        'v.yaml:2:74: discovery.kubernetes.pod: unknown key; did you mean "pods"?',
      ],
    ],
  ])('reports %j', (text, expected) => {
    expect(diagnostics(text)).toEqual(expected);
  });
});
