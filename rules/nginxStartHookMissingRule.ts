// NginxStartHookMissing (warning, nginx.standby: cold): the script keepalived runs to start nginx
// on takeover (nginx.start_hook) is missing or not executable on a node. Nothing is broken while
// the node is BACKUP, but its next takeover will move the VIP to a node that does not serve
// (NginxNotStartedOnTakeover then, critical): this is the warning before it. Per node.
import { fmtDuration } from '../agent/format';
import { lasting } from './pending';
import type { Condition, Rule, RuleContext } from './rule';

export const nginxStartHookMissingRule: Rule = {
  name: 'NginxStartHookMissing',
  severity: 'warning',
  rank: 52,
  scope: 'node',
  evaluate(ctx: RuleContext): Condition[] {
    const { now, view, settings } = ctx;
    const broken = view.nodes.flatMap((n) => {
      const hook = n.fresh ? n.state?.nginx.startHook : undefined;
      return hook && !hook.ok ? [{ key: n.node, from: hook.at, node: n.node, hook }] : [];
    });
    return lasting(ctx, settings.conditionForMs, broken).map(({ node, hook, since }) => {
      const notReferenced = hook.referenced === false ? ` keepalived.conf on ${node} does not name it in any notify / notify_master line either.` : '';
      return {
        severity: 'warning',
        labels: { node },
        startsAt: since,
        annotations: {
          summary: `The nginx start hook on ${node} would fail a takeover: ${hook.reason ?? `${hook.path} unusable`}`,
          description:
            `For ${fmtDuration(now - since)}. With nginx.standby: cold, nginx is started on takeover by ${hook.path}; if ${node} becomes MASTER now ` +
            `the VIP moves to a node whose nginx does not start.${notReferenced} Check the file (ls -l ${hook.path}): restore it, chmod +x, ` +
            'and that keepalived.conf calls it from notify_master (keepalived -t; with enable_script_security it must be owned by root and not writable by others).',
          path: hook.path,
        },
      };
    });
  },
};
