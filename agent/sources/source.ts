// What every source of keepalived state is: started and stopped by the daemon, emitting typed
// events into the store. A source never throws for runtime trouble: it reports itself down
// ({kind:'source', up:false}) and retries.
import type { NodeEvent, SourceName } from '../state/types';

export type Emit = (ev: NodeEvent) => void;

export interface Source {
  readonly name: SourceName;
  start(): Promise<void>;
  stop(): Promise<void>;
}
