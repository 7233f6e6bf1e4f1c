/**
 * Plugins that worker threads rebuild: a method or an objective is named by the module that
 * exports it and its export name, and configured by plain JSON settings, so any thread can load
 * the same code and build the same thing.
 */
import { OtocError } from './errors.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface PluginSource {
  /** The plugin's name, as the CLI and reports give it. */
  readonly name: string;
  /** `import.meta.url` of the module that exports the plugin. */
  readonly module: string;
  /** The name of that export. */
  readonly exportName: string;
}

/** A plugin with its settings: what a worker thread receives. */
export interface PluginUse<P extends PluginSource = PluginSource, S = Json> {
  plugin: P;
  settings: S;
}

/** The part of a PluginUse that crosses to a worker thread. */
export interface PluginRef {
  module: string;
  exportName: string;
  name: string;
  settings: unknown;
}

export function pluginRef(use: PluginUse<PluginSource, unknown>): PluginRef {
  const { module, exportName, name } = use.plugin;
  return { module, exportName, name, settings: use.settings };
}

/** The plugin a reference names, loaded from its module. */
export async function loadPlugin<P extends PluginSource>(ref: PluginRef): Promise<PluginUse<P, unknown>> {
  const exported = ((await import(ref.module)) as Record<string, unknown>)[ref.exportName] as P | undefined;
  if (exported?.name !== ref.name) throw new OtocError(`${ref.module} does not export the plugin '${ref.name}' as ${ref.exportName}`);
  return { plugin: exported, settings: ref.settings };
}
