// The modules that make the agent, in start order: sources and probes feed the store before the
// rules read it; the alert pipeline is up before the rules publish.
import type { ModuleFactory } from '../module';
import { coreModule } from './core';

export const defaultModules: ModuleFactory[] = [coreModule];
