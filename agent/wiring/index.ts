// The modules that make the agent, in start order: sources and probes feed the store before the
// rules read it; the alert pipeline is up before the rules publish.
import type { ModuleFactory } from '../module';
import { coreModule } from './core';
import { alertingModule } from './alerting';
import { peersModule } from './peers';
import { rulesModule } from './rules';
// hook first among the sources: transitions spooled while the agent was down are applied before
// the live sources re-read the current state, so the store's timeline keeps their order.
import { hookModule } from './hook';
import { sourcesModule } from './sources';
import { fifoLogModule } from './fifoLog';
// history after the sources: its last-state writer stops before them, while they still report.
import { historyModule } from './history';
// keepalived.conf before the probes: the VIPs they check come from it.
import { keepalivedConfModule } from './keepalivedConf';
import { probesModule } from './probes';
import { pageModule } from './page';

export const defaultModules: ModuleFactory[] = [coreModule, alertingModule, hookModule, sourcesModule, fifoLogModule, historyModule, keepalivedConfModule, probesModule, peersModule, rulesModule, pageModule];
