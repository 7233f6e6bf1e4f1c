/** The methods `otoc compress --method` offers, by name. */
import { OtocError } from '../errors.js';
import { admm, autocompress } from './admm/index.js';
import { dhspg } from './dhspg/index.js';
import type { MethodPlugin } from './method.js';
import { pemn } from './pemn/index.js';

export const METHODS: readonly MethodPlugin[] = [dhspg as MethodPlugin, admm as MethodPlugin, autocompress as MethodPlugin, pemn as MethodPlugin];
export const DEFAULT_METHOD = 'dhspg';

export function methodNamed(name: string, methods: readonly MethodPlugin[] = METHODS): MethodPlugin {
  const method = methods.find((m) => m.name === name);
  if (!method) throw new OtocError(`unknown method '${name}': one of ${methods.map((m) => m.name).join(', ')}`);
  return method;
}

/**
 * Refuses an option of a method other than `chosen`, naming the method it belongs to. Method
 * options have no yargs defaults, so an option is given exactly when its value is defined.
 */
export function checkMethodOptions(args: Record<string, unknown>, chosen: MethodPlugin, methods: readonly MethodPlugin[] = METHODS): void {
  const own = new Set(Object.keys(chosen.cli?.options ?? {}));
  for (const other of methods) {
    if (other === chosen) continue;
    for (const flag of Object.keys(other.cli?.options ?? {})) {
      if (!own.has(flag) && args[flag] !== undefined) {
        throw new OtocError(`--${flag} is an option of --method ${other.name}, not of --method ${chosen.name}`);
      }
    }
  }
}
