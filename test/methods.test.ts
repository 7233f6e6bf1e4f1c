/** Methods as the CLI offers them: the registry, options under each method's heading, options of another method refused. */
import { describe, expect, it } from 'vitest';
import type { MethodPlugin } from '../src/methods/method.js';
import { METHODS, checkMethodOptions, methodNamed } from '../src/methods/registry.js';
import { ensureBuilt, otoc } from './cli.js';

/** Two methods with options of their own and one in common. */
const first: MethodPlugin = {
  name: 'first',
  module: import.meta.url,
  exportName: 'first',
  summary: 'a method',
  cli: { options: { rho: { type: 'number' }, shared: { type: 'number' } }, settings: () => ({}) },
  session: () => ({ optimizer: { step: () => {}, saveState: () => ({}), loadState: () => {} } }),
};
const second: MethodPlugin = { ...first, name: 'second', cli: { options: { prototype: { type: 'string' }, shared: { type: 'number' } }, settings: () => ({}) } };

describe('method options', () => {
  it('refuses an option of another method, naming the method it belongs to', () => {
    expect(() => checkMethodOptions({ rho: 1 }, second, [first, second])).toThrow('--rho is an option of --method first, not of --method second');
    expect(() => checkMethodOptions({ rho: 1, shared: 2 }, first, [first, second])).not.toThrow();
    expect(() => checkMethodOptions({ shared: 2 }, second, [first, second])).not.toThrow();
  });

  it('names the methods there are when asked for another', () => {
    expect(methodNamed('dhspg').name).toBe('dhspg');
    expect(() => methodNamed('admm', [first, second])).toThrow("unknown method 'admm': one of first, second");
  });

  it('shows each method under its own heading in --help (options several take, once), and takes --method', () => {
    ensureBuilt();
    const help = otoc('compress', '--help');
    expect(help.status).toBe(0);
    for (const m of METHODS) {
      expect(help.stdout).toMatch(new RegExp(`\\n${m.name} options \\(--method ${m.name}[,)]`));
      const options = help.stdout.split('\nExamples:')[0];
      for (const flag of Object.keys(m.cli?.options ?? {})) expect(options.match(new RegExp(`^ +--${flag} `, 'gm'))).toHaveLength(1);
    }
    expect(help.stdout).toMatch(/--method .*\[default: "dhspg"\]/s);
    const unknown = otoc('compress', 'model.onnx', '--method', 'nothing', '-o', 'x.onnx');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr.trim()).toBe(`otoc: Invalid values: Argument: method, Given: "nothing", Choices: ${METHODS.map((m) => `"${m.name}"`).join(', ')}`);
  });
});
