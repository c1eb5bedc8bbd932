// The keywords keepalived 2.2.7 knows in each block, as its VRRP process sees them, and how each
// reads what follows it. Taken from the daemon itself (Debian's 2.2.7: every identifier in the
// binary tried in each block with `keepalived -t`, those it did not call "Unknown keyword" kept),
// so an unknown keyword is reported exactly where keepalived reports one. keepalived matches
// keywords case-sensitively (`State` is unknown), as these tables do.
//
// Kinds, after keepalived's parser (lib/parser.c):
// - line: the keyword and its words on one line;
// - block: a `{ ... }` of sub-keywords of another table (process_stream);
// - values: a `{ ... }` whose every line is an item (alloc_value_block): a missing `{` is only
//   logged and the following lines up to the next `}` become items, whatever they say;
// - skip: a block of another process (checker, BFD) or one keepwatch does not read, skipped by
//   counting braces as the VRRP process does; nothing inside is checked.

export type KeywordKind = 'line' | 'block' | 'values' | 'skip';

export type ContextName = 'top' | 'global_defs' | 'vrrp_instance' | 'authentication' | 'vrrp_sync_group' | 'vrrp_script';

export interface Keyword {
  kind: KeywordKind;
  /** The table of a `block` keyword's contents. */
  context?: ContextName;
}

export interface KeywordContext {
  /** undefined: any keyword is accepted and not checked (global_defs: keepwatch reads a few of its ~200 keywords). */
  keywords?: ReadonlyMap<string, Keyword>;
}

function table(lines: string, blocks: Record<string, Keyword> = {}): ReadonlyMap<string, Keyword> {
  const m = new Map<string, Keyword>();
  for (const k of lines.split(/\s+/).filter(Boolean)) m.set(k, { kind: 'line' });
  for (const [k, v] of Object.entries(blocks)) m.set(k, v);
  return m;
}

const values: Keyword = { kind: 'values' };
const skip: Keyword = { kind: 'skip' };

export const CONTEXTS: Record<ContextName, KeywordContext> = {
  top: {
    keywords: table('child_wait_time instance linkbeat_use_polling namespace_with_ipsets net_namespace net_namespace_ipvs use_pid_dir', {
      global_defs: { kind: 'block', context: 'global_defs' },
      vrrp_instance: { kind: 'block', context: 'vrrp_instance' },
      vrrp_sync_group: { kind: 'block', context: 'vrrp_sync_group' },
      vrrp_script: { kind: 'block', context: 'vrrp_script' },
      ...Object.fromEntries(
        'bfd_instance garp_group interface_up_down_delays linkbeat_interfaces static_ipaddress static_routes static_rules track_file track_group virtual_server virtual_server_group vrrp_track_file vrrp_track_process SSL'
          .split(' ')
          .map((k) => [k, skip]),
      ),
    }),
  },
  global_defs: {},
  vrrp_instance: {
    keywords: table(
      'accept advert_int check_unicast_src debug dont_track_primary down_timer_adverts garp_extra_if garp_lower_prio_delay garp_lower_prio_repeat ' +
        'garp_master_delay garp_master_refresh garp_master_refresh_repeat garp_master_repeat higher_prio_send_advert interface kernel_rx_buf_size ' +
        'linkbeat_use_polling lower_prio_no_advert lvs_sync_daemon_interface mcast_dst_ip mcast_src_ip native_ipv6 no_accept nopreempt notify ' +
        'notify_backup notify_deleted notify_fault notify_master notify_master_rx_lower_pri notify_priority_changes notify_stop old_unicast_checksum ' +
        'preempt preempt_delay priority promote_secondaries skip_check_adv_addr smtp_alert state strict_mode track_src_ip unicast_fault_no_peer ' +
        'unicast_src_ip unicast_ttl use_ipvlan use_vmac use_vmac_addr version virtual_router_id vmac_garp_intvl vmac_xmit_base vrf',
      {
        authentication: { kind: 'block', context: 'authentication' },
        ...Object.fromEntries(
          'track_bfd track_file track_interface track_process track_script unicast_peer virtual_ipaddress virtual_ipaddress_excluded virtual_routes virtual_rules'
            .split(' ')
            .map((k) => [k, values]),
        ),
      },
    ),
  },
  authentication: { keywords: table('auth_pass auth_type') },
  vrrp_sync_group: {
    keywords: table(
      'global_tracking notify notify_backup notify_fault notify_master notify_priority_changes notify_stop smtp_alert sync_group_tracking_weight',
      Object.fromEntries('group track_bfd track_file track_interface track_process track_script'.split(' ').map((k) => [k, values])),
    ),
  },
  vrrp_script: { keywords: table('fall init_fail interval rise script timeout user weight') },
};
