// The alert hub: rules publish alert changes (firing/resolved), the pipeline and the API
// subscribe. It keeps the set of firing alerts and a bounded list of recent changes.
import type { AlertHub } from '../module';
import type { Alert } from './alert';

export function createAlertHub(recentSize = 200): AlertHub {
  const firing = new Map<string, Alert>();
  const recent: Alert[] = [];
  const listeners = new Set<(a: Alert) => void>();
  return {
    publish(alert) {
      if (alert.status === 'firing') firing.set(alert.fingerprint, alert);
      else firing.delete(alert.fingerprint);
      recent.push(alert);
      if (recent.length > recentSize) recent.splice(0, recent.length - recentSize);
      for (const l of listeners) l(alert);
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    active: () => [...firing.values()],
    recent: () => [...recent],
  };
}
