// The live connection: a websocket to /api/live (SPEC "Live updates").
// Subscribes with the view's bbox and the filters, remembers the last
// sequence number seen, and on reconnect resumes from it with "since", so no
// change is missed. Reconnects with exponential backoff from 0.5 s to 10 s.
// Shows its state in the badge: connecting, live or offline.

import { getToken } from './api.js';

/** First reconnect delay, in milliseconds. */
const BACKOFF_MIN_MS = 500;
/** Longest reconnect delay, in milliseconds. */
const BACKOFF_MAX_MS = 10000;

/** The websocket URL for this page (ws: or wss: as the page), with the token. */
export function liveURL() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const token = getToken();
  return `${proto}//${location.host}/api/live${token ? `?token=${encodeURIComponent(token)}` : ''}`;
}

/**
 * The live connection. Handlers: onChange(frame) for each new change frame
 * (in order, each sequence number once), onReset() when the server asks for
 * a full reload, onAlert(frame) for each alert of the user's watch areas.
 */
export class Live {
  constructor(badge, { onChange, onReset, onAlert }) {
    this.badge = badge;
    this.onChange = onChange;
    this.onReset = onReset;
    this.onAlert = onAlert;
    /** The last sequence number seen (from hello on first connect, then from changes). */
    this.lastSeq = null;
    this.helloSeq = null;
    this.ws = null;
    this.backoff = BACKOFF_MIN_MS;
    this.retry = null;
    this.subscription = {};
    this.stopped = false;
    let resolveHello;
    /** Settles at the first hello (the caller may load data after it). */
    this.firstHello = new Promise((r) => { resolveHello = r; });
    this.resolveHello = resolveHello;
    this.setState('connecting');
  }

  setState(state) {
    this.state = state;
    this.badge.textContent = state;
    this.badge.dataset.state = state;
    this.badge.title = {
      connecting: 'Connecting to live updates…',
      live: 'Live: changes appear as they are made',
      offline: 'Offline: reconnecting soon; changes made meanwhile will arrive then',
    }[state] || state;
  }

  /**
   * Starts from a known seq, before the first connect: the first subscribe
   * asks for every change after it (the data loaded meanwhile holds those
   * up to it), so the caller need not wait for the hello to load.
   */
  resumeFrom(seq) {
    if (this.lastSeq === null && Number.isFinite(seq)) this.lastSeq = seq;
  }

  /** Opens the connection (again). */
  connect() {
    clearTimeout(this.retry);
    this.stopped = false;
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close();
    }
    this.setState('connecting');
    let ws;
    try {
      ws = new WebSocket(liveURL());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onmessage = (e) => this.receive(e.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setState('offline');
      if (!this.stopped) this.scheduleReconnect();
    };
    ws.onerror = () => {
      // onclose follows and schedules the reconnect.
    };
  }

  scheduleReconnect() {
    clearTimeout(this.retry);
    const delay = this.backoff * (0.85 + Math.random() * 0.3);
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
    this.retry = setTimeout(() => this.connect(), delay);
  }

  /** Closes the connection for good (until connect()). */
  stop() {
    this.stopped = true;
    clearTimeout(this.retry);
    if (this.ws) this.ws.close(1000, 'bye');
    this.ws = null;
    this.setState('offline');
  }

  /** Reconnects now (e.g. with a new token). */
  restart() {
    this.backoff = BACKOFF_MIN_MS;
    this.connect();
  }

  receive(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    if (msg.type === 'hello') {
      this.helloSeq = Number.isFinite(msg.seq) ? msg.seq : null;
      if (this.lastSeq !== null && this.helloSeq !== null && this.helloSeq < this.lastSeq) {
        // The server's log is behind what we saw (a restored database):
        // our sequence numbers mean nothing there any more.
        this.lastSeq = this.helloSeq;
        this.onReset();
      }
      if (this.lastSeq === null) this.lastSeq = this.helloSeq;
      this.backoff = BACKOFF_MIN_MS;
      this.setState('live');
      this.sendSubscribe();
      this.resolveHello(msg.seq);
    } else if (msg.type === 'change') {
      if (Number.isFinite(msg.seq)) {
        if (this.lastSeq !== null && msg.seq <= this.lastSeq) return;
        this.lastSeq = msg.seq;
      }
      this.onChange(msg);
    } else if (msg.type === 'alert') {
      if (this.onAlert) this.onAlert(msg);
    } else if (msg.type === 'reset') {
      this.lastSeq = this.helloSeq;
      this.onReset();
    } else if (msg.type === 'error') {
      if (msg.status === 429) {
        // Too many subscribes: the server kept the previous view. Send the
        // current one again when it says.
        clearTimeout(this.resend);
        const wait = Number.isFinite(msg.retry_after) ? msg.retry_after : 1;
        this.resend = setTimeout(() => this.sendSubscribe(), wait * 1000);
      } else {
        console.warn('live:', msg.detail);
      }
    }
  }

  /**
   * Sets the subscription ({bbox: [w,s,e,n], filter: {type, actor, country,
   * commodity}}) and sends it when connected.
   */
  subscribe(subscription) {
    this.subscription = subscription || {};
    this.sendSubscribe();
  }

  sendSubscribe() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    const frame = { type: 'subscribe', ...this.subscription };
    if (this.lastSeq !== null) frame.since = this.lastSeq;
    this.ws.send(JSON.stringify(frame));
  }
}
