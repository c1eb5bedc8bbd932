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
    return span(Math.max(0, Math.round((now - ms) / 1000)));
  }
  /** 42s, 1m 4s, 2h 5m, 3d 1h */
  function span(s) {
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
    // A snapshot means something changed (alerts among it): the incidents may have too.
    loadIncidents();
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

  // ------------------------------------------------------------------ incidents (GET api/v1/incidents)
  var INCIDENTS_POLL_MS = 10000;
  var INCIDENTS_MIN_GAP_MS = 1000;
  var incidentsLoading = false;
  var incidentsLastAt = 0;
  var incidentsAgain = null; // a load asked for while one ran or too soon: done when allowed, never dropped

  /** 650 ms, 8.4 s, 1m 4s: how long an incident lasted. */
  function lasted(ms) {
    if (ms < 1000) return Math.max(0, Math.round(ms)) + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
    return span(Math.round(ms / 1000));
  }
  function parseTime(iso) {
    var t = iso ? Date.parse(iso) : NaN;
    return isNaN(t) ? null : t;
  }

  /**
   * Fetches the incidents, at most once a second (snapshots arrive in bursts); a request that comes
   * too soon runs when the second is over. A 404 (an agent without incidents) hides the panel.
   */
  function loadIncidents() {
    var now = Date.now();
    if (incidentsLoading || now - incidentsLastAt < INCIDENTS_MIN_GAP_MS) {
      if (!incidentsAgain) {
        incidentsAgain = setTimeout(function () {
          incidentsAgain = null;
          loadIncidents();
        }, Math.max(50, INCIDENTS_MIN_GAP_MS - (now - incidentsLastAt)));
      }
      return;
    }
    incidentsLoading = true;
    incidentsLastAt = now;
    fetch('api/v1/incidents', { cache: 'no-store', credentials: 'same-origin' })
      .then(function (r) {
        if (r.status === 404) return null;
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.json();
      })
      .then(function (data) {
        if (data === null) $('incidents-section').hidden = true;
        else renderIncidents(data);
      })
      .catch(function () {
        // Keep what is shown; the next snapshot or poll tries again.
      })
      .then(function () {
        incidentsLoading = false;
      });
  }

  function renderIncidents(data) {
    var open = Array.isArray(data.open) ? data.open : [];
    var recent = Array.isArray(data.recent) ? data.recent : [];
    $('incidents-section').hidden = false;
    var count = $('incident-count');
    count.textContent = String(open.length);
    count.className = 'count' + (open.some(function (i) { return (i.alerts || []).some(function (a) { return a.severity === 'critical' && a.status === 'firing'; }); }) ? ' bad' : open.length ? ' warn' : '');
    var box = clear($('incidents'));
    if (!open.length && !recent.length) {
      append(box, el('p', 'empty ok', 'No incidents.'));
      return;
    }
    if (open.length) append(box, el('h3', 'incident-group', 'Open'), incidentList(open, true));
    if (recent.length) append(box, el('h3', 'incident-group', 'Recent'), incidentList(recent, false));
  }

  function incidentList(list, isOpen) {
    var ul = el('ul', 'incidents');
    list.forEach(function (inc) {
      append(ul, incidentItem(inc, isOpen));
    });
    return ul;
  }

  function incidentItem(inc, isOpen) {
    var opened = parseTime(inc.openedAt);
    var resolved = parseTime(inc.resolvedAt);
    var li = el('li', 'incident ' + (isOpen ? 'open' : 'closed') + (inc.past ? ' past' : ''));
    li.setAttribute('data-incident', String(inc.id));
    li.setAttribute('data-status', String(inc.status));
    var state = inc.past ? pill('warn', 'PAST', 'seen only after it ended') : isOpen ? pill('bad', 'OPEN') : pill('good', 'RESOLVED');
    var when = el('span', 'incident-when');
    if (opened !== null) {
      var at = el('time', null, clock(opened));
      at.title = dateTime(opened);
      at.setAttribute('datetime', new Date(opened).toISOString());
      if (resolved !== null) append(when, at, ' \u2192 ', clock(resolved), ' \u00b7 lasted ' + lasted(resolved - opened));
      else append(when, at, ' \u00b7 open for ', since(opened));
    }
    append(li,
      append(el('div', 'incident-head'), state, el('strong', 'incident-cause', inc.cause), when),
      el('div', 'incident-id', String(inc.id) + (inc.causeAlert ? ' \u00b7 cause: ' + inc.causeAlert : '')));
    var alerts = Array.isArray(inc.alerts) ? inc.alerts : [];
    if (alerts.length) {
      var al = el('ul', 'incident-alerts');
      alerts.forEach(function (a) {
        var item = el('li', 'sev-' + (a.severity || 'info') + ' ' + (a.status === 'firing' ? 'firing' : 'resolved'));
        item.setAttribute('data-alertname', String(a.alertname));
        append(al, append(item, el('span', 'sev', a.severity || 'info'), el('strong', 'alertname', a.alertname), el('span', 'alert-status', a.status), el('span', 'summary', a.summary)));
      });
      append(li, al);
    }
    var steps = Array.isArray(inc.steps) ? inc.steps : [];
    if (steps.length) {
      var det = el('details', 'incident-steps');
      if (isOpen) det.open = true;
      append(det, el('summary', null, 'Timeline (' + steps.length + (steps.length === 1 ? ' step)' : ' steps)')));
      var ol = el('ol', 'steps');
      steps.forEach(function (st) {
        var t = parseTime(st.at);
        var time = el('time', 'when', t === null ? '' : clock(t) + (opened !== null && t >= opened ? ' +' + lasted(t - opened) : ''));
        if (t !== null) time.title = dateTime(t);
        append(ol, append(el('li', 'step ' + (st.status === 'firing' ? 'firing' : 'resolved')), time, el('span', 'alertname', st.alertname), el('span', 'alert-status', st.status === 'firing' ? 'fired' : 'resolved'), el('span', 'summary', st.summary)));
      });
      append(det, ol);
      append(li, det);
    }
    return li;
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
    loadIncidents();
    setInterval(tick, 1000);
    setInterval(loadIncidents, INCIDENTS_POLL_MS);
  });
})();
