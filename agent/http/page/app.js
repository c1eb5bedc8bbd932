// keepwatch status page. Plain browser JavaScript, no build step, no dependencies.
// Live updates from GET api/v1/events (server-sent events, one full snapshot per change); when
// the stream is unavailable it polls api/v1/status. Every piece of data is put in the page with
// textContent / DOM nodes, never as HTML.
'use strict';

(function () {
  var POLL_MS = 3000;
  var STALE_MS = 25000; // no snapshot or ping (every 10 s) for this long: the stream is presumed dead
  var current = null;
  var lastMessageAt = 0;
  var mode = 'connecting';
  var pollTimer = null;
  var source = null;

  // ------------------------------------------------------------------ DOM helpers (text only, no HTML parsing)
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function append(parent) {
    for (var i = 1; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      parent.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return parent;
  }
  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }
  function $(id) {
    return document.getElementById(id);
  }

  // ------------------------------------------------------------------ formatting
  function ago(ms, now) {
    if (!ms) return '';
    var s = Math.max(0, Math.round((now - ms) / 1000));
    if (s < 60) return s + 's';
    var m = Math.floor(s / 60);
    if (m < 60) return m + 'm ' + (s % 60) + 's';
    var h = Math.floor(m / 60);
    if (h < 48) return h + 'h ' + (m % 60) + 'm';
    return Math.floor(h / 24) + 'd ' + (h % 24) + 'h';
  }
  function clock(ms) {
    var d = new Date(ms);
    var p = function (n) { return (n < 10 ? '0' : '') + n; };
    return p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
  }
  function dateTime(ms) {
    return new Date(ms).toLocaleString();
  }
  /** A relative time that the 1 s ticker keeps current. */
  function since(ms) {
    var e = el('time', 'ago', ago(ms, Date.now()));
    e.setAttribute('data-since', String(ms));
    e.setAttribute('datetime', new Date(ms).toISOString());
    e.title = dateTime(ms);
    return e;
  }
  function roleBadge(state) {
    var b = el('span', 'role role-' + String(state).toLowerCase(), state);
    return b;
  }
  function pill(cls, text, title) {
    var p = el('span', 'pill ' + cls, text);
    if (title) p.title = title;
    return p;
  }

  // ------------------------------------------------------------------ rendering
  function render(s) {
    current = s;
    lastMessageAt = Date.now();
    var level = s.health.level;
    var verdict = $('verdict');
    verdict.className = 'verdict ' + level;
    verdict.textContent = level === 'healthy' ? 'Healthy' : level === 'degraded' ? 'Degraded' : 'Critical';
    document.title = (level === 'healthy' ? '' : '\u26a0 ') + 'keepwatch \u00b7 ' + s.node + ' \u00b7 ' + verdict.textContent;
    $('node').textContent = 'node ' + s.node;

    var reasons = clear($('reasons'));
    reasons.hidden = s.health.reasons.length === 0;
    s.health.reasons.forEach(function (r) {
      append(reasons, el('li', level, r));
    });

    renderVrids(s);
    renderAlerts(s);
    renderNodes(s);
    renderTimeline(s);
    tick();
  }

  function renderVrids(s) {
    var box = clear($('vrids'));
    if (!s.vrids.length) {
      append(box, el('p', 'empty', 'No VRRP instance known yet: no source has reported keepalived\u2019s state.'));
      return;
    }
    s.vrids.forEach(function (v) {
      var card = el('article', 'card vrid');
      card.setAttribute('data-vrid', v.key);
      var status;
      if (v.masters.length > 1) status = pill('bad', 'SPLIT BRAIN', v.masters.join(', ') + ' are all MASTER');
      else if (v.masters.length === 1) status = pill('good', 'MASTER ' + v.masters[0]);
      else if (v.staleMasters.length) status = pill('warn', 'MASTER ' + v.staleMasters.join(', ') + '?', 'last known; that node is not reachable');
      else status = pill('bad', 'NO MASTER');
      if (v.masters.length > 1 || (v.masters.length === 0 && !v.staleMasters.length)) card.className += ' alarm';
      append(card, append(el('header', 'card-head'),
        append(el('h3'), 'VRID ' + v.key, el('span', 'sub', v.inames.join(', '))),
        status));

      var vips = el('div', 'vips');
      Object.keys(v.vipHolders).forEach(function (vip) {
        var holders = v.vipHolders[vip];
        var cls = holders.length === 1 ? 'good' : holders.length === 0 ? 'muted' : 'bad';
        append(vips, append(el('span', 'vip ' + cls), el('span', 'vip-addr', vip), ' \u2192 ', holders.length ? holders.join(', ') : 'not bound'));
      });
      if (vips.firstChild) append(card, vips);

      var table = el('table', 'members');
      append(table, append(el('thead'), append(el('tr'), el('th', null, 'Node'), el('th', null, 'Role'), el('th', 'num', 'Prio'), el('th', null, 'VIP'), el('th', null, 'For'))));
      var tbody = el('tbody');
      v.members.forEach(function (m) {
        var tr = el('tr', m.fresh ? '' : 'stale');
        tr.setAttribute('data-node', m.node);
        tr.setAttribute('data-state', m.state);
        var prio = m.effectivePriority !== undefined ? m.effectivePriority : m.priority;
        var bound = m.vipsBound === undefined ? el('span', 'muted', '?') : m.vipsBound.length ? el('span', 'good', '\u2714 bound') : el('span', 'muted', '\u2013');
        append(tbody, append(tr,
          append(el('td', 'node'), m.node, m.node === s.node ? el('span', 'me', 'this node') : null, m.fresh ? null : el('span', 'muted', ' (last known)')),
          append(el('td'), roleBadge(m.state)),
          el('td', 'num', prio === undefined ? '' : prio),
          append(el('td'), bound),
          append(el('td'), since(m.since))));
      });
      append(table, tbody);
      append(card, table);
      v.disagreements.forEach(function (d) {
        append(card, el('p', 'warn-text', 'Nodes disagree on ' + d));
      });
      append(box, card);
    });
  }

  function renderAlerts(s) {
    var box = clear($('alerts'));
    var active = s.alerts.active;
    $('alert-count').textContent = String(active.length);
    $('alert-count').className = 'count' + (active.some(function (a) { return a.labels.severity === 'critical'; }) ? ' bad' : active.length ? ' warn' : '');
    if (!active.length) {
      append(box, el('p', 'empty ok', 'No alerts firing.'));
      return;
    }
    var list = el('ul', 'alerts');
    active.forEach(function (a) {
      var sev = a.labels.severity || 'info';
      var li = el('li', 'alert sev-' + sev);
      li.setAttribute('data-alertname', a.labels.alertname);
      var labels = el('div', 'labels');
      Object.keys(a.labels).sort().forEach(function (k) {
        if (k === 'alertname' || k === 'severity') return;
        append(labels, el('span', 'label', k + '=' + a.labels[k]));
      });
      append(li,
        append(el('div', 'alert-head'), el('span', 'sev', sev), el('strong', 'alertname', a.labels.alertname), append(el('span', 'alert-since'), 'for ', since(a.startsAt))),
        el('div', 'summary', a.annotations.summary),
        a.annotations.description ? el('div', 'description', a.annotations.description) : null,
        labels);
      append(list, li);
    });
    append(box, list);
  }

  function renderNodes(s) {
    var box = clear($('nodes'));
    s.nodes.forEach(function (n) {
      var card = el('article', 'card node-card' + (n.up ? '' : ' alarm'));
      card.setAttribute('data-node', n.node);
      var reach = n.self ? pill('good', 'this agent') : n.up ? pill('good', 'peer up') : pill('bad', 'peer unreachable', n.error || '');
      append(card, append(el('header', 'card-head'), append(el('h3'), n.node), reach));
      var facts = el('dl', 'facts');
      function fact(name, value) {
        append(facts, el('dt', null, name), append(el('dd'), value));
      }
      fact('keepalived', n.keepalivedUp === undefined ? el('span', 'muted', 'unknown') : n.keepalivedUp ? el('span', 'good', 'running') : el('span', 'bad', 'down'));
      fact('nginx', n.nginx.up === undefined ? el('span', 'muted', 'no probe yet') : n.nginx.up ? el('span', 'good', 'healthy') : el('span', 'bad', 'down' + (n.nginx.reason ? ': ' + n.nginx.reason : '')));
      // Only for a peer that is down: an up peer is heard from every second.
      if (!n.self && !n.up && n.lastSeenAt) fact('last heard', append(el('span'), since(n.lastSeenAt), ' ago'));
      if (n.sources && n.sources.length) {
        var chips = el('span', 'chips');
        n.sources.forEach(function (src) {
          append(chips, pill(src.up ? 'good' : 'bad', src.source, src.error || ''));
        });
        fact('sources', chips);
      }
      if (n.error && !n.up) fact('error', el('span', 'bad', n.error));
      append(card, facts);
      append(box, card);
    });
    s.problems.forEach(function (p) {
      append(box, el('p', 'warn-text', p));
    });
  }

  function renderTimeline(s) {
    var list = clear($('timeline'));
    if (!s.timeline.length) {
      append(list, el('li', 'empty', 'Nothing has happened since the agent started.'));
      return;
    }
    s.timeline.slice(0, 60).forEach(function (t) {
      var cls = 'ev ev-' + t.kind;
      if (t.kind === 'transition' && t.to) cls += ' to-' + t.to.toLowerCase();
      if (t.kind === 'alert') cls += ' sev-' + (t.severity || 'info') + ' ' + t.status;
      var li = el('li', cls);
      var when = el('time', 'when', clock(t.at));
      when.title = dateTime(t.at);
      append(li, when,
        append(el('span', 'what'), t.node ? el('span', 'ev-node', t.node) : null, el('span', 'ev-text', t.text)),
        t.cause ? el('span', 'cause', t.cause) : null,
        t.source ? el('span', 'src', 'via ' + t.source) : null);
      append(list, li);
    });
  }

  /** Keeps relative times and the "updated" line current between snapshots. */
  function tick() {
    var now = Date.now();
    var nodes = document.querySelectorAll('[data-since]');
    for (var i = 0; i < nodes.length; i++) nodes[i].textContent = ago(Number(nodes[i].getAttribute('data-since')), now);
    if (current) $('updated').textContent = 'updated ' + ago(lastMessageAt, now) + ' ago';
    if (mode === 'live' && lastMessageAt && now - lastMessageAt > STALE_MS) setMode('stale');
  }

  function setMode(m) {
    mode = m;
    var c = $('conn');
    c.className = 'conn ' + m;
    c.textContent = m === 'live' ? 'live' : m === 'polling' ? 'polling' : m === 'stale' ? 'no updates' : m === 'offline' ? 'agent unreachable' : 'connecting';
  }

  // ------------------------------------------------------------------ data: SSE, polling fallback
  function poll() {
    fetch('api/v1/status', { cache: 'no-store', credentials: 'same-origin' })
      .then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.json();
      })
      .then(function (s) {
        if (mode !== 'live') setMode('polling');
        render(s);
      })
      .catch(function () {
        if (mode !== 'live') setMode('offline');
      });
  }

  function startPolling() {
    if (pollTimer) return;
    poll();
    pollTimer = setInterval(poll, POLL_MS);
  }
  function stopPolling() {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
  }

  function connect() {
    if (!window.EventSource) {
      startPolling();
      return;
    }
    source = new EventSource('api/v1/events');
    source.addEventListener('snapshot', function (e) {
      stopPolling();
      setMode('live');
      try {
        render(JSON.parse(e.data));
      } catch (err) {
        // A malformed snapshot is ignored; the next one replaces it.
      }
    });
    source.addEventListener('ping', function () {
      // Nothing changed, and the agent says so: the data shown is current.
      lastMessageAt = Date.now();
      if (mode !== 'live') setMode('live');
    });
    source.addEventListener('error', function () {
      // EventSource reconnects by itself; meanwhile keep the page fresh by polling.
      setMode(source.readyState === EventSource.CLOSED ? 'offline' : 'connecting');
      startPolling();
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    setMode('connecting');
    connect();
    setInterval(tick, 1000);
  });
})();
