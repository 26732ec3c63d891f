/*
 * The test page's script: one WebSocket per demo protocol, reconnecting
 * while the server is away, the page greyed out (lws_gray_out from
 * /lws-common.js) until the connections are back. No framework, no build.
 */
'use strict';

(function () {
  var wsBase = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/';
  var mirrorName = new URLSearchParams(location.search).get('mirror');
  var live = {};

  function $(id) { return document.getElementById(id); }

  /* Server strings are shown only when they cannot be markup. */
  function safe(s) { return String(s).indexOf('<') < 0 ? String(s) : 'invalid string'; }

  function gray(on) {
    if (typeof window.lws_gray_out === 'function') window.lws_gray_out(on, { zindex: '499' });
    document.body.classList.toggle('offline', on);
  }

  function updateGray() {
    var down = Object.keys(live).some(function (k) { return !live[k]; });
    gray(down);
  }

  /* A socket that comes back by itself: 1 s, 2 s, … up to 5 s between tries. */
  function keep(name, url, protocol, handlers) {
    var delay = 1000;
    var state = $(name + '-state');
    live[name] = false;
    function open() {
      var ws;
      try { ws = new WebSocket(url, protocol); } catch (e) { setTimeout(open, delay); return; }
      ws.binaryType = 'arraybuffer';
      ws.onopen = function () {
        delay = 1000;
        live[name] = true;
        if (state) {
          state.textContent = 'connected' + (ws.extensions ? ' (' + safe(ws.extensions) + ')' : '');
          state.className = 'state up';
        }
        updateGray();
        if (handlers.open) handlers.open(ws);
      };
      ws.onmessage = function (ev) { if (handlers.message) handlers.message(ws, ev.data); };
      ws.onclose = function (ev) {
        live[name] = false;
        if (state) {
          state.dataset.closes = String(Number(state.dataset.closes || 0) + 1);
          state.textContent = 'closed (' + ev.code + (ev.reason ? ' ' + safe(ev.reason) : '') + '), retrying';
          state.className = 'state down';
        }
        updateGray();
        if (handlers.close) handlers.close(ev);
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 5000);
      };
      handlers.socket = ws;
    }
    open();
    return handlers;
  }

  /* ---- dumb-increment: a live counter ---- */
  var dumb = keep('dumb', wsBase, 'dumb-increment-protocol', {
    message: function (ws, data) { $('dumb-number').textContent = safe(data); },
  });
  $('dumb-reset').onclick = function () {
    if (dumb.socket && dumb.socket.readyState === 1) dumb.socket.send('reset\n');
  };

  /* ---- mirror: a shared canvas ---- */
  var canvas = $('mirror-canvas');
  var ctx = canvas.getContext('2d');
  var pending = '';
  var flushTimer = null;
  var last = null;

  var nodesSeen = {};
  function showNode(node) {
    $('mirror-from').textContent = 'last stroke from ' + node;
    if (!nodesSeen[node]) {
      nodesSeen[node] = true;
      $('mirror-nodes').textContent = 'nodes: ' + Object.keys(nodesSeen).join(', ');
    }
  }

  function draw(cmd) {
    var p = cmd.trim().split(/\s+/);
    if (p[0] === 'd' && p.length === 6) {
      ctx.strokeStyle = p[1];
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(+p[2], +p[3]);
      ctx.lineTo(+p[4], +p[5]);
      ctx.stroke();
    } else if (p[0] === 'c' && p.length === 5) {
      ctx.strokeStyle = p[1];
      ctx.beginPath();
      ctx.arc(+p[2], +p[3], +p[4], 0, Math.PI * 2);
      ctx.stroke();
    }
  }

  var mirror = keep('mirror', wsBase + (mirrorName ? '?mirror=' + encodeURIComponent(mirrorName) : ''), 'lws-mirror-protocol', {
    message: function (ws, data) {
      var text = typeof data === 'string' ? data : new TextDecoder().decode(data);
      text.split(';').forEach(function (c) {
        var t = c.trim();
        // "n NODE": the server process the strokes that follow came from (mirror spanning processes).
        if (t.slice(0, 2) === 'n ') showNode(t.slice(2));
        else if (t) draw(c);
      });
    },
  });

  function flush() {
    flushTimer = null;
    if (pending && mirror.socket && mirror.socket.readyState === 1) mirror.socket.send(pending);
    pending = '';
  }

  function point(ev) {
    var r = canvas.getBoundingClientRect();
    return [Math.round((ev.clientX - r.left) * canvas.width / r.width), Math.round((ev.clientY - r.top) * canvas.height / r.height)];
  }

  canvas.addEventListener('pointerdown', function (ev) { last = point(ev); canvas.setPointerCapture(ev.pointerId); });
  canvas.addEventListener('pointerup', function () { last = null; flush(); });
  canvas.addEventListener('pointermove', function (ev) {
    if (!last) return;
    var p = point(ev);
    pending += 'd ' + $('mirror-color').value + ' ' + last[0] + ' ' + last[1] + ' ' + p[0] + ' ' + p[1] + ';';
    last = p;
    if (pending.length > 400) flush();
    else if (!flushTimer) flushTimer = setTimeout(flush, 30);
  });
  $('mirror-clear').onclick = function () { ctx.clearRect(0, 0, canvas.width, canvas.height); };

  /* ---- close testing ---- */
  var closer = null;
  function closeState(t) { $('close-state').textContent = t; }
  $('close-open').onclick = function () {
    if (closer && closer.readyState < 2) return;
    closer = new WebSocket(wsBase, 'dumb-increment-protocol');
    closer.onopen = function () { closeState('open'); };
    closer.onclose = function (ev) { closeState('closed: ' + ev.code + (ev.reason ? ' ' + safe(ev.reason) : '')); };
  };
  $('close-client').onclick = function () { if (closer) closer.close(3000, 'Bye!'); };
  $('close-server').onclick = function () { if (closer && closer.readyState === 1) closer.send('closeme\n'); };

  /* ---- server status: live figures from lws-server-status ---- */
  var status = keep('status', wsBase, 'lws-server-status', {
    message: function (ws, data) {
      var j;
      try { j = JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data)); } catch (e) { return; }
      var c = j.i && j.i.contexts && j.i.contexts[0];
      if (!c) return;
      var vh = (c.vhosts || [])[0];
      $('status-conns').textContent = safe(c.wsi_alive);
      $('status-ws').textContent = vh ? safe(vh.ws_upg) : '–';
      $('status-ws-h2').textContent = vh ? safe(vh.ws_h2 || '0') : '–';
      $('status-uptime').textContent = safe(c.context_uptime);
      $('status-version').textContent = safe(j.i.version || '');
    },
  });

  // Two large, very compressible JSON messages, as lws's page sends to exercise permessage-deflate.
  $('status-pmd').onclick = function () {
    var ws = status.socket;
    if (!ws || ws.readyState !== 1) { $('status-pmd-result').textContent = 'not connected'; return; }
    var sent = 0;
    for (var n = 0; n < 2; n++) {
      var rows = [];
      for (var i = 0; i < 400; i++) rows.push({ seq: i, name: 'row ' + i, tags: ['alpha', 'beta', 'gamma'], value: i * 7 % 101 });
      var s = JSON.stringify({ test: 'pmd', message: n, rows: rows });
      ws.send(s);
      sent += s.length;
    }
    $('status-pmd-result').textContent = 'sent 2 messages, ' + sent + ' bytes' + (ws.extensions ? ' (' + safe(ws.extensions) + ')' : ' (uncompressed)');
  };

  /* ---- facts about this connection ---- */
  var nav = performance.getEntriesByType && performance.getEntriesByType('navigation')[0];
  $('fact-http').textContent = (nav && nav.nextHopProtocol) || 'http/1.1';
  $('fact-tls').textContent = location.protocol === 'https:' ? 'yes (wss:// for the sockets)' : 'no (ws:// for the sockets)';

  gray(true);
})();
