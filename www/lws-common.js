/*
 * lws-common.js: page helpers shared by the tslws test pages, after lws's.
 *
 *   <script src="/lws-common.js"></script>
 *   lws_gray_out(true, { zindex: '499' });   // at load: dim until connected
 *   ws.onopen = () => lws_gray_out(false);
 *   ws.onclose = () => lws_gray_out(true, { zindex: '499' });
 *
 * lws_gray_out(vis, options) covers the whole page with one absolutely
 * positioned div (id "darkenScreenObject"), black at 70 % opacity by
 * default, kept the size of the page as the window resizes; false hides it.
 * options: zindex (default 50), opacity (percent, default 70),
 * bgcolor (default '#000000').
 */
(function (global) {
  'use strict';
  var ID = 'darkenScreenObject';
  var listening = false;

  function pageSize(doc) {
    var b = doc.body || {};
    var e = doc.documentElement || {};
    return {
      w: Math.max(b.scrollWidth || 0, e.scrollWidth || 0, e.clientWidth || 0, global.innerWidth || 0),
      h: Math.max(b.scrollHeight || 0, e.scrollHeight || 0, e.clientHeight || 0, global.innerHeight || 0),
    };
  }

  function fit(dark) {
    var s = pageSize(global.document);
    dark.style.width = s.w + 'px';
    dark.style.height = s.h + 'px';
  }

  function lws_gray_out(vis, options) {
    var doc = global.document;
    var o = options || {};
    var zindex = o.zindex !== undefined ? o.zindex : 50;
    var opacity = o.opacity !== undefined ? Number(o.opacity) : 70;
    var bgcolor = o.bgcolor || '#000000';
    var dark = doc.getElementById(ID);
    if (!dark) {
      if (!vis) return;
      dark = doc.createElement('div');
      dark.id = ID;
      dark.style.position = 'absolute';
      dark.style.top = '0px';
      dark.style.left = '0px';
      dark.style.overflow = 'hidden';
      dark.style.display = 'none';
      (doc.body || doc.documentElement).appendChild(dark);
    }
    if (!listening && global.addEventListener) {
      listening = true;
      global.addEventListener('resize', function () {
        var d = global.document.getElementById(ID);
        if (d && d.style.display !== 'none') fit(d);
      });
    }
    if (!vis) {
      dark.style.display = 'none';
      return;
    }
    dark.style.opacity = String(opacity / 100);
    dark.style.filter = 'alpha(opacity=' + opacity + ')';
    dark.style.zIndex = String(zindex);
    dark.style.backgroundColor = bgcolor;
    fit(dark);
    dark.style.display = 'block';
  }

  /* A WebSocket to `url` speaking `protocol` (lws's new_ws). */
  function new_ws(url, protocol) {
    var W = global.WebSocket || global.MozWebSocket;
    return new W(url, protocol);
  }

  /* ws:// or wss:// to this page's host, following http/https. */
  function lws_ws_url(path) {
    var l = global.location;
    return (l.protocol === 'https:' ? 'wss://' : 'ws://') + l.host + (path || '/');
  }

  global.lws_gray_out = lws_gray_out;
  global.new_ws = new_ws;
  global.lws_ws_url = lws_ws_url;
})(typeof window !== 'undefined' ? window : globalThis);
