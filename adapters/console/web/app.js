/*
 * Switchboard console - the single page served by hub-console.
 *
 * Rules:
 *   1. Everything that comes from the hub is put into the page as text
 *      (textContent, attributes), never as HTML.
 *   2. Every POST carries the session's CSRF token in X-CSRF-Token; the token
 *      comes from /api/login or /api/session.
 *   3. One view at a time, chosen by the location hash:
 *        #/login  #/inbox/DEPT  #/case/CASE-ID  #/customer/TEXT  #/ops
 *      Leaving a view stops its timers.
 *   4. The inbox asks for what is new (after_seq) every POLL_MS; it never
 *      reloads the page or the whole list to show a new notification.
 *   5. A failed call shows its message in the status line; a 401 returns to
 *      the sign-in form.
 */
'use strict';

(function () {
  const POLL_MS = 2000;      // inbox: how often to ask for what is new
  const OPS_POLL_MS = 5000;  // operations: how often to refresh the tables
  const TICK_MS = 1000;      // countdowns
  const STATUS_HIDE_MS = 5000;

  const STATES = ['notified', 'delivered', 'acknowledged', 'in_progress', 'resolved', 'rejected',
    'escalated', 'breached'];

  const ANSWERS = ['acknowledged', 'in_progress', 'resolved', 'rejected'];

  const SAMPLE_EVENT = {
    id: 'dry-run-1',
    type: 'bug_report',
    source: 'support',
    case_id: 'CASE-2001',
    customer: { id: 'ACME-7', name: 'Acme Corp', tier: 'enterprise', billing_status: 'overdue' },
    severity: 'high',
    subject: 'Export crashes on large files',
    tags: ['regression'],
  };

  const session = { user: '', departments: [], operator: false, csrf: '' };

  const inbox = {
    dept: '',          // department shown
    lastSeq: 0,        // polling cursor (the hub's last seq at the last answer)
    items: new Map(),  // "seq:slot" -> NotificationState
    selected: '',      // key of the open notification
    timer: 0,
    busy: false,       // a poll is in flight
    generation: 0,     // bumps when the department changes: late answers are dropped
    failing: false,
  };

  const ops = { timer: 0, data: null, handled: new Map(), failing: false };

  let view = '';
  let statusTimer = 0;

  /* ------------------------------------------------------------ helpers */

  function $(id) {
    return document.getElementById(id);
  }

  // el('div', {class: 'x', 'data-seq': 3}, 'text', childNode, ...)
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [key, value] of Object.entries(attrs)) {
        if (value === undefined || value === null || value === false) continue;
        if (key === 'class') node.className = value;
        else if (key === 'text') node.textContent = value;
        else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
        else if (value === true) node.setAttribute(key, '');
        else node.setAttribute(key, String(value));
      }
    }
    for (const child of children) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  function human(word) {
    return String(word || '').replace(/_/g, ' ');
  }

  function num(value) {
    if (value === undefined || value === null || value === '') return 0;
    return Number(value);
  }

  function fmtNum(value) {
    return num(value).toLocaleString('en-US');
  }

  function pad(n) {
    return String(n).padStart(2, '0');
  }

  // A date as "2026-11-23 10:00:05" in the browser's time zone.
  function fmtTime(when) {
    const d = when instanceof Date ? when : new Date(when);
    if (Number.isNaN(d.getTime())) return '';
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  // A length of time in ms as "3d 4h", "2h 05m", "4m 09s" or "12s".
  function fmtSpan(ms) {
    let s = Math.max(0, Math.floor(ms / 1000));
    const d = Math.floor(s / 86400);
    s -= d * 86400;
    const h = Math.floor(s / 3600);
    s -= h * 3600;
    const m = Math.floor(s / 60);
    s -= m * 60;
    if (d > 0) return `${d}d ${h}h`;
    if (h > 0) return `${h}h ${pad(m)}m`;
    if (m > 0) return `${m}m ${pad(s)}s`;
    return `${s}s`;
  }

  function parseTime(text) {
    if (!text) return NaN;
    return Date.parse(text);
  }

  function itemKey(n) {
    return `${num(n.seq)}:${num(n.slot)}`;
  }

  /* ------------------------------------------------------- status line */

  function setStatus(message, kind) {
    const line = $('status-line');
    clearTimeout(statusTimer);
    if (!message) {
      show(line, false);
      return;
    }
    line.className = `status-line status-${kind || 'error'}`;
    clear(line);
    line.append(el('span', { class: 'status-text', text: message }),
      el('button', { type: 'button', class: 'status-close', 'aria-label': 'Dismiss', text: '\u00d7',
        onclick: () => setStatus('') }));
    show(line, true);
    if (kind && kind !== 'error') statusTimer = setTimeout(() => setStatus(''), STATUS_HIDE_MS);
  }

  function errorText(err) {
    if (err && err.message) return err.message;
    return String(err);
  }

  /* ---------------------------------------------------------------- API */

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  // Calls the console's API. Returns the parsed JSON (null for an empty
  // answer); throws ApiError with the server's message on any failure.
  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    const opts = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (method !== 'GET') {
      headers['X-CSRF-Token'] = session.csrf;
      if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        opts.body = JSON.stringify(body);
      }
    }
    let res;
    try {
      res = await fetch(path, opts);
    } catch (e) {
      throw new ApiError(0, 'network', 'The console server cannot be reached; is hub-console running?');
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (e) {
        data = null;
      }
    }
    if (!res.ok) {
      const code = (data && data.error) || `http_${res.status}`;
      let message = (data && data.message) || `${method} ${path}: ${res.status} ${res.statusText}`;
      if (res.status === 401 && path !== '/api/login' && path !== '/api/session') {
        signedOut('Your session has ended. Sign in again.', true);
      } else if (code === 'csrf') {
        message = 'The page lost its security token. Reload it and try again.';
      }
      throw new ApiError(res.status, code, message);
    }
    return data;
  }

  /* ------------------------------------------------------------ session */

  function adopt(data) {
    session.user = data.user || '';
    session.departments = Array.isArray(data.departments) ? data.departments.slice() : [];
    session.operator = !!data.operator;
    session.csrf = data.csrf || '';
    $('whoami').textContent = session.user + (session.operator ? ' (operator)' : '');
    show($('nav-ops'), session.operator);
    show($('topbar'), true);
    document.body.classList.add('signed-in');
  }

  // Back to the sign-in form; remember: come back to this page after it
  // (the session ended on its own, not by signing out).
  function signedOut(message, remember) {
    session.user = '';
    session.csrf = '';
    session.departments = [];
    session.operator = false;
    leaveView();
    // Nothing of the last user's stays for the next one.
    inbox.dept = '';
    resetInbox();
    ops.data = null;
    ops.handled.clear();
    resetCase();
    $('case-search').value = '';
    $('nav-inbox').setAttribute('href', '#/inbox');
    $('nav-case').setAttribute('href', '#/case');
    show($('login-error'), false);
    show($('topbar'), false);
    document.body.classList.remove('signed-in');
    if (message) setStatus(message, 'info');
    if (location.hash !== '#/login') {
      const wanted = location.hash;
      if (remember && wanted && wanted !== '#/' && !wanted.startsWith('#/login')) {
        sessionStorage.setItem('sb-after-login', wanted);
      } else {
        sessionStorage.removeItem('sb-after-login');
      }
      location.hash = '#/login';
    } else {
      route();
    }
  }

  async function onLogin(ev) {
    ev.preventDefault();
    const user = $('login-user').value.trim();
    const password = $('login-password').value;
    const error = $('login-error');
    show(error, false);
    if (!user || !password) {
      error.textContent = 'Enter your user name and password.';
      show(error, true);
      return;
    }
    const button = $('login-submit');
    button.disabled = true;
    try {
      const data = await api('POST', '/api/login', { user, password });
      adopt(data);
      $('login-password').value = '';
      setStatus('');
      const next = sessionStorage.getItem('sb-after-login');
      sessionStorage.removeItem('sb-after-login');
      const target = next || homeHash();
      if (location.hash === target) route();
      else location.hash = target;
    } catch (err) {
      error.textContent = err.status === 401 ? 'Wrong user name or password.' : errorText(err);
      show(error, true);
      $('login-password').select();
    } finally {
      button.disabled = false;
    }
  }

  async function onLogout() {
    try {
      await api('POST', '/api/logout');
    } catch (err) {
      // This page forgets the session all the same; the server's ends at its expiry.
      signedOut('Signed out here, but the console did not confirm it: ' + err.message +
        '. The session ends at its expiry; sign in and out again to end it now.');
      return;
    }
    signedOut('Signed out.');
  }

  function homeHash() {
    if (session.departments.length) return `#/inbox/${encodeURIComponent(session.departments[0])}`;
    if (session.operator) return '#/ops';
    return '#/case';
  }

  /* ------------------------------------------------------------- router */

  function leaveView() {
    clearInterval(inbox.timer);
    inbox.timer = 0;
    clearInterval(ops.timer);
    ops.timer = 0;
    view = '';
  }

  function showView(name) {
    for (const v of ['login', 'inbox', 'case', 'ops']) show($(`view-${v}`), v === name);
    for (const v of ['inbox', 'case', 'ops']) {
      const link = $(`nav-${v}`);
      if (v === name) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    view = name;
  }

  function route() {
    const hash = location.hash || '#/';
    const parts = hash.replace(/^#\/?/, '').split('/');
    const page = parts[0] || '';
    let arg = '';
    try {
      arg = parts.length > 1 ? decodeURIComponent(parts.slice(1).join('/')) : '';
    } catch (err) {
      arg = ''; // a malformed escape in a hand-typed address: as if none was given
    }
    leaveView();
    if (!session.user) {
      showView('login');
      $('login-user').focus();
      return;
    }
    switch (page) {
      case 'inbox':
        showView('inbox');
        enterInbox(arg);
        break;
      case 'case':
        showView('case');
        enterCase(arg);
        break;
      case 'customer':
        showView('case');
        enterCustomer(arg);
        break;
      case 'ops':
        if (!session.operator) {
          setStatus('Operations are for operators only.');
          location.replace(homeHash());
          return;
        }
        showView('ops');
        enterOps();
        break;
      default:
        location.replace(homeHash());
    }
  }

  /* -------------------------------------------------------------- inbox */

  function fillDepartments(current) {
    const select = $('dept-select');
    clear(select);
    const depts = session.departments.slice();
    if (current && !depts.includes(current)) depts.push(current);
    for (const d of depts) select.append(el('option', { value: d, text: d }));
    select.value = current;
    select.disabled = depts.length < 2;
  }

  function enterInbox(dept) {
    if (!dept) dept = inbox.dept || session.departments[0] || '';
    if (!dept) {
      fillDepartments('');
      clear($('inbox-list'));
      $('inbox-empty').textContent = 'You are not in any department. Ask an operator to add you to one.';
      show($('inbox-empty'), true);
      return;
    }
    if (`#/inbox/${encodeURIComponent(dept)}` !== location.hash) {
      history.replaceState(null, '', `#/inbox/${encodeURIComponent(dept)}`);
    }
    fillDepartments(dept);
    $('nav-inbox').setAttribute('href', `#/inbox/${encodeURIComponent(dept)}`);
    if (dept !== inbox.dept) {
      inbox.dept = dept;
      resetInbox();
    }
    $('inbox-summary').textContent = `Notifications routed to ${dept}, newest first. New ones appear as they arrive.`;
    loadInbox(true);
    inbox.timer = setInterval(() => loadInbox(false), POLL_MS);
  }

  function resetInbox() {
    inbox.generation++;
    inbox.lastSeq = 0;
    inbox.items.clear();
    inbox.selected = '';
    inbox.busy = false;
    clear($('inbox-list'));
    closeDetail();
  }

  // Asks for the whole list (full) or for what came after the cursor.
  async function loadInbox(full) {
    if (inbox.busy && !full) return;
    const generation = full ? ++inbox.generation : inbox.generation;
    inbox.busy = true;
    const dept = inbox.dept;
    let path = `/api/inbox?department=${encodeURIComponent(dept)}`;
    if (!full && inbox.lastSeq) path += `&after_seq=${inbox.lastSeq}`;
    if ($('inbox-all').checked) path += '&all=1';
    try {
      const data = await api('GET', path);
      if (generation !== inbox.generation || view !== 'inbox') return;
      if (inbox.failing) {
        inbox.failing = false;
        setStatus('Connected again.', 'ok');
      }
      $('inbox-live').classList.remove('live-off');
      const items = Array.isArray(data && data.items) ? data.items : [];
      if (full) {
        inbox.items.clear();
        clear($('inbox-list'));
      }
      mergeInbox(items, !full);
      if (data && data.last_seq !== undefined) inbox.lastSeq = Math.max(inbox.lastSeq, num(data.last_seq));
      else for (const it of items) inbox.lastSeq = Math.max(inbox.lastSeq, num(it.notification && it.notification.seq));
    } catch (err) {
      if (generation !== inbox.generation) return;
      $('inbox-live').classList.add('live-off');
      if (err.status === 403) {
        clearInterval(inbox.timer);
        inbox.timer = 0;
      }
      if (!inbox.failing || full) setStatus(errorText(err));
      inbox.failing = true;
      if (full && inbox.items.size === 0) {
        $('inbox-empty').textContent = `The inbox could not be read: ${errorText(err)}`;
        show($('inbox-empty'), true);
      }
    } finally {
      if (generation === inbox.generation) inbox.busy = false;
    }
  }

  // Adds items (newest first) to the list; fresh ones go on top and flash.
  function mergeInbox(items, fresh) {
    const list = $('inbox-list');
    const incoming = [];
    for (const st of items) {
      const n = st.notification || {};
      const key = itemKey(n);
      const had = inbox.items.has(key);
      inbox.items.set(key, st);
      const row = renderItem(st, fresh && !had);
      const old = list.querySelector(`.inbox-item[data-key="${key}"]`);
      if (old) old.replaceWith(row);
      else incoming.push(row);
    }
    // items are newest first: keep that order above what is there
    const first = list.firstChild;
    for (const row of incoming) {
      if (fresh) list.insertBefore(row, first);
      else list.append(row);
    }
    if (fresh && incoming.length) {
      setStatus(`${incoming.length} new notification${incoming.length > 1 ? 's' : ''} for ${inbox.dept}.`, 'ok');
    }
    show($('inbox-empty'), inbox.items.size === 0);
    $('inbox-empty').textContent = $('inbox-all').checked ? 'Nothing has reached this department yet.'
      : 'Nothing open for this department. New notifications appear here.';
    if (inbox.selected && inbox.items.has(inbox.selected)) markSelected();
    tick();
  }

  function severityOf(ev) {
    return String((ev && ev.severity) || 'unspecified').toLowerCase();
  }

  function customerOf(ev) {
    const c = (ev && ev.customer) || {};
    return c.name || c.id || '';
  }

  function renderItem(st, fresh) {
    const n = st.notification || {};
    const ev = n.event || {};
    const key = itemKey(n);
    const sev = severityOf(ev);
    const countdown = el('span', { class: 'countdown' });
    setCountdown(countdown, st);
    const answer = st.answer
      ? el('span', { class: `pill state-${st.answer}`, title: st.answered_by ? `by ${st.answered_by}` : null,
        text: human(st.answer) })
      : null;
    const row = el('li', {
      class: `inbox-item sev-${sev}${fresh ? ' fresh' : ''}${st.answer ? ' answered' : ''}`,
      'data-seq': num(n.seq),
      'data-slot': num(n.slot),
      'data-case': ev.case_id || '',
      'data-key': key,
      tabindex: 0,
      role: 'button',
      'aria-label': `${ev.case_id || 'no case'}: ${ev.subject || n.topic || ''}`,
    },
    el('div', { class: 'item-top' },
      el('span', { class: `sev sev-badge-${sev}`, text: sev === 'unspecified' ? 'none' : sev }),
      el('span', { class: 'item-case', text: ev.case_id || '(no case)' }),
      el('span', { class: 'item-customer', text: customerOf(ev) }),
      el('span', { class: 'item-seq', text: `#${num(n.seq)}` })),
    el('div', { class: 'item-subject', text: ev.subject || (ev.type ? human(ev.type) : n.topic || '') }),
    el('div', { class: 'item-bottom' },
      el('span', { class: 'item-route', title: n.reason || '', text: n.route || n.topic || '' }),
      answer,
      countdown));
    row.addEventListener('click', () => openDetail(key));
    row.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        openDetail(key);
      }
    });
    return row;
  }

  // Fills a .countdown for a notification state; tick() keeps it current.
  function setCountdown(node, st) {
    const n = st.notification || {};
    const due = parseTime(n.respond_by);
    node.classList.remove('past', 'met', 'none', 'soon');
    if (st.answer) {
      node.removeAttribute('data-respond-by');
      node.classList.add('met');
      node.textContent = 'answered';
      return;
    }
    if (Number.isNaN(due)) {
      node.removeAttribute('data-respond-by');
      node.classList.add('none');
      node.textContent = 'no deadline';
      return;
    }
    node.setAttribute('data-respond-by', String(due));
    if (st.breached) node.setAttribute('data-breached', '');
    node.title = `answer by ${fmtTime(due)}`;
    updateCountdown(node, Date.now());
  }

  function updateCountdown(node, now) {
    const due = Number(node.getAttribute('data-respond-by'));
    const left = due - now;
    if (left <= 0 || node.hasAttribute('data-breached')) {
      node.classList.add('past');
      node.classList.remove('soon');
      node.textContent = `overdue ${fmtSpan(-left)}`;
    } else {
      node.classList.remove('past');
      node.classList.toggle('soon', left < 15 * 60 * 1000);
      node.textContent = `${fmtSpan(left)} left`;
    }
  }

  function tick() {
    const now = Date.now();
    for (const node of document.querySelectorAll('.countdown[data-respond-by]')) updateCountdown(node, now);
  }

  function markSelected() {
    for (const row of document.querySelectorAll('.inbox-item.selected')) row.classList.remove('selected');
    const row = document.querySelector(`.inbox-item[data-key="${inbox.selected}"]`);
    if (row) row.classList.add('selected');
  }

  function openDetail(key) {
    const st = inbox.items.get(key);
    if (!st) return;
    const n = st.notification || {};
    const ev = n.event || {};
    inbox.selected = key;
    markSelected();
    const row = document.querySelector(`.inbox-item[data-key="${key}"]`);
    if (row) row.classList.remove('fresh');

    $('detail-topic').textContent = n.topic || '';
    $('detail-title').textContent = ev.subject || human(ev.type) || '(no subject)';
    $('detail-meta').textContent = [ev.case_id, customerOf(ev), n.received_at && `received ${fmtTime(n.received_at)}`]
      .filter(Boolean).join(' \u00b7 ');

    const facts = $('detail-facts');
    clear(facts);
    const fact = (label, value) => {
      if (value === undefined || value === null || value === '') return;
      facts.append(el('dt', { text: label }), el('dd', {}, value));
    };
    fact('Case', ev.case_id ? el('a', { href: `#/case/${encodeURIComponent(ev.case_id)}`, text: ev.case_id }) : '');
    const c = ev.customer || {};
    fact('Customer', [c.name, c.id && `(${c.id})`, c.tier].filter(Boolean).join(' '));
    fact('Severity', el('span', { class: `sev sev-badge-${severityOf(ev)}`, text: severityOf(ev) }));
    fact('Type', human(ev.type));
    fact('Route', [n.route, n.reason && `because ${n.reason}`].filter(Boolean).join(' \u2014 '));
    if (n.respond_by) {
      const cd = el('span', { class: 'countdown' });
      setCountdown(cd, st);
      fact('Respond by', el('span', {}, `${fmtTime(n.respond_by)} `, cd));
    }
    fact('Event', `${n.event_id || ''} (seq ${num(n.seq)}, notification ${num(n.slot)}${num(n.attempt) > 1 ? `, attempt ${n.attempt}` : ''})`);

    const now = $('detail-answer');
    clear(now);
    if (st.answer) {
      now.append(el('span', { class: `pill state-${st.answer}`, text: human(st.answer) }),
        el('span', { text: ` by ${st.answered_by || 'your department'}` +
          (st.answered_at_ms ? ` at ${fmtTime(num(st.answered_at_ms))}` : '') }),
        st.answer_note ? el('q', { text: st.answer_note }) : null);
    }
    show(now, !!st.answer);

    const canAnswer = !!ev.case_id;
    $('answer-submit').disabled = !canAnswer;
    $('answer-note').value = '';
    const result = $('answer-result');
    result.className = 'result';
    result.textContent = canAnswer ? '' : 'This event has no case id, so it cannot be answered.';
    if (st.answer && ['acknowledged', 'in_progress'].includes(st.answer)) {
      $('answer-status').value = st.answer === 'acknowledged' ? 'in_progress' : 'resolved';
    } else {
      $('answer-status').value = 'acknowledged';
    }

    $('detail-event').textContent = JSON.stringify(ev, null, 2);
    show($('detail-placeholder'), false);
    show($('detail'), true);
    if (window.matchMedia('(max-width: 1000px)').matches) $('detail').scrollIntoView({ behavior: 'smooth' });
  }

  function closeDetail() {
    inbox.selected = '';
    markSelected();
    show($('detail'), false);
    show($('detail-placeholder'), true);
  }

  async function onAnswer(ev) {
    ev.preventDefault();
    const st = inbox.items.get(inbox.selected);
    if (!st) return;
    const n = st.notification || {};
    const caseId = (n.event && n.event.case_id) || '';
    const status = $('answer-status').value;
    const note = $('answer-note').value.trim();
    const result = $('answer-result');
    const button = $('answer-submit');
    button.disabled = true;
    result.className = 'result';
    result.textContent = 'Sending\u2026';
    try {
      const body = { department: inbox.dept, case_id: caseId, status };
      if (note) body.note = note;
      const data = await api('POST', '/api/answer', body);
      result.className = 'result result-ok';
      result.textContent = `Answered ${human(status)} for ${inbox.dept} on ${caseId}` +
        (data && data.seq ? ` (event #${data.seq}).` : '.');
      // Every notification of this case in this inbox now carries the answer.
      for (const [key, other] of inbox.items) {
        const oc = other.notification && other.notification.event && other.notification.event.case_id;
        if (oc !== caseId) continue;
        other.answer = status;
        other.answer_note = note;
        other.answered_by = session.user;
        other.answered_at_ms = Date.now();
        const old = document.querySelector(`.inbox-item[data-key="${key}"]`);
        if (old) old.replaceWith(renderItem(other, false));
      }
      markSelected();
      const keep = result.textContent;
      openDetail(inbox.selected);
      result.className = 'result result-ok';
      result.textContent = keep;
    } catch (err) {
      result.className = 'result result-error';
      result.textContent = errorText(err);
      setStatus(errorText(err));
    } finally {
      button.disabled = false;
    }
  }

  /* --------------------------------------------------------- case board */

  function resetCase() {
    show($('case-view'), false);
    show($('case-results'), false);
    show($('case-empty'), true);
  }

  async function enterCase(caseId) {
    $('case-search').value = caseId;
    if (!caseId) {
      resetCase();
      $('case-empty').textContent = 'Search for a case id (e.g. CASE-1042) or part of a customer\u2019s name.';
      $('case-search').focus();
      return;
    }
    $('nav-case').setAttribute('href', `#/case/${encodeURIComponent(caseId)}`);
    try {
      const data = await api('GET', `/api/case?case_id=${encodeURIComponent(caseId)}`);
      if (view !== 'case') return;
      renderCase(data || {});
    } catch (err) {
      if (err.status === 404) {
        // Not a case id: maybe part of a customer's name or id.
        location.replace(`#/customer/${encodeURIComponent(caseId)}`);
        return;
      }
      resetCase();
      $('case-empty').textContent = errorText(err);
      setStatus(errorText(err));
    }
  }

  async function enterCustomer(text) {
    $('case-search').value = text;
    if (!text) {
      location.replace('#/case');
      return;
    }
    try {
      const data = await api('GET', `/api/case?customer=${encodeURIComponent(text)}`);
      if (view !== 'case') return;
      const cases = (data && Array.isArray(data.cases)) ? data.cases : [];
      resetCase();
      if (cases.length === 1) {
        location.replace(`#/case/${encodeURIComponent(cases[0].case_id)}`);
        return;
      }
      if (!cases.length) {
        $('case-empty').textContent = `No case and no customer matches \u201c${text}\u201d.`;
        return;
      }
      const body = $('case-results-body');
      clear(body);
      for (const c of cases) {
        const link = el('a', { href: `#/case/${encodeURIComponent(c.case_id)}`, text: c.case_id });
        body.append(el('tr', {},
          el('td', {}, link),
          el('td', { text: c.customer || '' }),
          el('td', { text: human(c.type) }),
          el('td', { text: c.subject || '' }),
          el('td', { class: 'num', text: c.last_seq !== undefined ? `#${c.last_seq}` : '' })));
      }
      show($('case-results'), true);
      show($('case-empty'), false);
    } catch (err) {
      resetCase();
      $('case-empty').textContent = errorText(err);
      setStatus(errorText(err));
    }
  }

  function onCaseSearch(ev) {
    ev.preventDefault();
    const q = $('case-search').value.trim();
    if (!q) {
      setStatus('Type a case id or a customer to search for.', 'info');
      return;
    }
    const target = `#/case/${encodeURIComponent(q)}`;
    if (location.hash === target) route();
    else location.hash = target;
  }

  function detailText(detail) {
    if (detail === undefined || detail === null) return '';
    if (typeof detail === 'string') {
      try {
        detail = JSON.parse(detail);
      } catch (e) {
        return detail;
      }
    }
    if (typeof detail !== 'object') return String(detail);
    return Object.entries(detail)
      .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`)
      .join(', ');
  }

  function detailObject(detail) {
    if (typeof detail === 'string') {
      try {
        return JSON.parse(detail);
      } catch (e) {
        return {};
      }
    }
    return detail && typeof detail === 'object' ? detail : {};
  }

  // How far a department got with the case, as five segments:
  // notified, delivered, acknowledged, in progress, resolved.
  const PROGRESS = { notified: 1, delivered: 2, acknowledged: 3, in_progress: 4, resolved: 5, rejected: 5,
    escalated: 2, breached: 2 };

  function progressBar(state) {
    const reached = PROGRESS[state] || 1;
    const bar = el('div', { class: `progress progress-${state}`, 'aria-hidden': 'true' });
    for (let i = 1; i <= 5; i++) bar.append(el('span', { class: i <= reached ? 'seg seg-on' : 'seg' }));
    return bar;
  }

  function renderCase(data) {
    show($('case-results'), false);
    show($('case-empty'), false);
    show($('case-view'), true);
    $('case-id').textContent = data.case_id || '';
    $('case-customer').textContent = data.customer || '';

    const history = Array.isArray(data.history) ? data.history : [];
    // The last response of each department, for its column.
    const answers = new Map();
    for (const row of history) {
      if (row.action === 'responded' && row.department) answers.set(row.department, row);
    }

    const board = $('case-board');
    clear(board);
    const depts = Array.isArray(data.departments) ? data.departments : [];
    for (const d of depts) {
      const state = STATES.includes(d.state) ? d.state : String(d.state || 'notified');
      const col = el('div', { class: `case-column state-col-${state}`, 'data-department': d.department || '' },
        el('h3', { class: 'case-dept', text: d.department || '' }),
        el('span', { class: `case-state pill state-${state}`, 'data-state': state, text: human(state) }),
        progressBar(state));
      const facts = el('dl', { class: 'facts facts-tight' });
      const fact = (label, value) => {
        if (value) facts.append(el('dt', { text: label }), el('dd', {}, value));
      };
      fact('Topic', d.topic);
      fact('Route', d.route);
      if (d.respond_by) {
        const cd = el('span', { class: 'countdown' });
        setCountdown(cd, {
          notification: { respond_by: d.respond_by },
          answer: ANSWERS.includes(state) ? state : '',
          breached: state === 'breached',
        });
        fact('Respond by', el('span', {}, `${fmtTime(d.respond_by)} `, cd));
      }
      // The column's own answer fields; older servers: the last response in the history.
      const answer = answers.get(d.department);
      const by = d.answered_by || (answer && answer.actor) || '';
      const at = d.answered_at || (answer && answer.at) || '';
      const note = d.note || (answer && detailObject(answer.detail).note) || '';
      if (by) fact('Answered', `${by}${at ? `, ${fmtTime(at)}` : ''}`);
      if (note) fact('Note', el('q', { text: note }));
      col.append(facts);
      const flags = el('div', { class: 'flags' });
      if (d.breached && ANSWERS.includes(state)) {
        flags.append(el('span', { class: 'flag flag-bad', text: 'answered late' }));
      }
      if (d.escalated_to) flags.append(el('span', { class: 'flag flag-warn', text: `escalated to ${d.escalated_to}` }));
      if (d.dead_lettered) flags.append(el('span', { class: 'flag flag-bad', text: 'dead-lettered' }));
      if (flags.firstChild) col.append(flags);
      board.append(col);
    }
    if (!depts.length) board.append(el('p', { class: 'empty', text: 'No department has been notified of this case.' }));

    const body = $('case-history').tBodies[0];
    clear(body);
    for (const row of history) {
      const seq = row.seq === null || row.seq === undefined ? ''
        : (row.seq_to && row.seq_to !== row.seq ? `${row.seq}\u2013${row.seq_to}` : String(row.seq));
      body.append(el('tr', { class: `hist-${row.action || ''}` },
        el('td', { class: 'nowrap', text: row.at ? fmtTime(row.at) : (row.at_ms ? fmtTime(row.at_ms) : '') }),
        el('td', {}, el('span', { class: `pill action-${row.action || ''}`, text: human(row.action) })),
        el('td', { text: row.department || '' }),
        el('td', { class: 'mono', text: row.actor || '' }),
        el('td', { class: 'num', text: seq }),
        el('td', { class: 'detail-cell', text: detailText(row.detail) })));
    }
    if (!history.length) {
      body.append(el('tr', {}, el('td', { colspan: 6, class: 'empty', text: 'No history recorded.' })));
    }
  }

  /* --------------------------------------------------------- operations */

  function enterOps() {
    ops.handled.clear();
    if (!$('dry-run').value) $('dry-run').value = JSON.stringify(SAMPLE_EVENT, null, 2);
    loadOps(true);
    ops.timer = setInterval(() => loadOps(false), OPS_POLL_MS);
  }

  function editingDeadLetters() {
    const active = document.activeElement;
    if (active && active.classList && active.classList.contains('discard-reason')) return true;
    return !!document.querySelector('.deadletter.discarding');
  }

  async function loadOps(first) {
    try {
      const data = await api('GET', '/api/ops'); // every dead letter, with its state
      if (view !== 'ops') return;
      ops.data = data || {};
      renderOps(ops.data, first);
    } catch (err) {
      if (first || !ops.failing) setStatus(errorText(err));
      ops.failing = true;
      return;
    }
    if (ops.failing) setStatus('');
    ops.failing = false;
  }

  // Sums a counter over its labels (status.counters).
  function counterTotal(counters, name) {
    let total = 0;
    for (const c of counters) if (c.name === name) total += num(c.count);
    return total;
  }

  function renderOps(data, first) {
    const status = data.status || {};
    const subs = Array.isArray(status.subscribers) ? status.subscribers : [];
    const counters = Array.isArray(status.counters) ? status.counters : [];
    const dead = Array.isArray(data.dead_letters) ? data.dead_letters : [];
    const openDead = dead.filter((d) => (d.dead_letter_state || 'open') === 'open').length;

    $('ops-summary').textContent = `hubd ${status.hub_version || ''}` +
      (status.uptime_s !== undefined ? `, up ${fmtSpan(num(status.uptime_s) * 1000)}` : '') +
      (status.data_dir ? `, data in ${status.data_dir}` : '');

    const stats = $('ops-stats');
    clear(stats);
    const stat = (label, value, cls) => stats.append(el('div', { class: `stat ${cls || ''}` },
      el('span', { class: 'stat-value', text: value }), el('span', { class: 'stat-label', text: label })));
    stat('last seq', fmtNum(status.last_seq));
    if (counters.length) {
      stat('notifications', fmtNum(counterTotal(counters, 'notifications')));
      stat('deliveries', fmtNum(counterTotal(counters, 'deliveries')));
      stat('acks', fmtNum(counterTotal(counters, 'acks')));
      stat('escalations', fmtNum(counterTotal(counters, 'escalations')),
        counterTotal(counters, 'escalations') ? 'stat-warn' : '');
      stat('breaches', fmtNum(counterTotal(counters, 'breaches')), counterTotal(counters, 'breaches') ? 'stat-bad' : '');
    }
    stat('rejected', fmtNum(status.rejected), num(status.rejected) ? 'stat-warn' : '');
    stat('open dead letters', fmtNum(openDead), openDead ? 'stat-bad' : 'stat-good');

    const sbody = $('subscribers').tBodies[0];
    clear(sbody);
    for (const s of subs) {
      const oldest = num(s.oldest_unacked_ms);
      const lagging = oldest > 60000;
      sbody.append(el('tr', { 'data-name': s.name || '' },
        el('td', {}, el('span', { class: `dot ${s.connected ? 'dot-on' : 'dot-off'}`,
          title: s.connected ? 'connected' : 'not connected' }), el('span', { class: 'mono', text: s.name || '' })),
        el('td', { class: 'mono small', text: (s.topics || []).join(', ') }),
        el('td', { class: 'num', text: fmtNum(s.position) }),
        el('td', { class: `num ${num(s.backlog) ? 'warn' : ''}`, text: fmtNum(s.backlog) }),
        el('td', { class: 'num', text: `${fmtNum(s.in_flight)}${s.credit ? ` / ${fmtNum(s.credit)}` : ''}` }),
        el('td', { class: `num ${lagging ? 'bad' : ''}`, text: oldest ? fmtSpan(oldest) : '\u2014' }),
        el('td', { class: `num ${num(s.open_dead_letters) ? 'bad' : ''}`,
          text: s.open_dead_letters !== undefined ? fmtNum(s.open_dead_letters) : fmtNum(s.dead_letters) })));
    }
    if (!subs.length) {
      sbody.append(el('tr', {}, el('td', { colspan: 7, class: 'empty', text: 'No subscriber has subscribed yet.' })));
    }

    if (first || !editingDeadLetters()) renderDeadLetters(dead);

    const policy = data.policy || {};
    $('policy-sha256').textContent = policy.sha256 || status.policy_sha256 || '';
    $('policy-path').textContent = policy.path || '';
    $('policy-routes').textContent = policy.routes !== undefined ? fmtNum(policy.routes) : fmtNum(status.routes);
    const src = $('policy-source');
    if (src.textContent !== (policy.source || '')) src.textContent = policy.source || '';
  }

  function renderDeadLetters(dead) {
    const body = $('deadletters').tBodies[0];
    clear(body);
    const showHandled = $('deadletters-all').checked;
    // What was handled here stays in the table, with its new state, until
    // the page is left, also when the console lists only the open ones.
    const rows = new Map();
    for (const d of dead) rows.set(num(d.notification && d.notification.seq), d);
    for (const [seq, local] of ops.handled) if (!rows.has(seq)) rows.set(seq, local.base);
    const seqs = Array.from(rows.keys()).sort((a, b) => b - a);
    let shown = 0;
    for (const seq of seqs) {
      const server = rows.get(seq);
      // the console's word wins once it reports the new state itself
      const local = server.dead_letter_state && server.dead_letter_state !== 'open' ? null : ops.handled.get(seq);
      const st = local ? Object.assign({}, server, local.fields) : server;
      const state = st.dead_letter_state || 'open';
      if (state !== 'open' && !showHandled && !ops.handled.has(seq)) continue;
      body.append(renderDeadLetter(st));
      shown++;
    }
    show($('deadletters-empty'), shown === 0);
    $('deadletters-empty').textContent = dead.length && !showHandled
      ? 'No open dead letters. Tick \u201cShow handled\u201d to see the re-driven and discarded ones.'
      : 'No dead letters. Every subscriber took what it was sent.';
    $('redrive-all').disabled = !dead.some((d) => (d.dead_letter_state || 'open') === 'open' &&
      !ops.handled.has(num(d.notification && d.notification.seq)));
  }

  function renderDeadLetter(st) {
    const n = st.notification || {};
    const ev = n.event || {};
    const seq = num(n.seq);
    const state = st.dead_letter_state || 'open';
    const reason = st.dead_letter_reason || n.reason || '';
    const row = el('tr', { class: `deadletter dl-${state}`, 'data-seq': seq });
    const stateCell = el('td', {},
      el('span', { class: `dl-state pill state-dl-${state}`, 'data-state': state, text: state }));
    if (state === 'redriven') {
      stateCell.append(el('div', { class: 'small muted', text: `as #${num(st.redrive_seq)}` +
        (st.dead_letter_by ? ` by ${st.dead_letter_by}` : '') }));
    } else if (state === 'discarded' && st.dead_letter_by) {
      stateCell.append(el('div', { class: 'small muted', text: `by ${st.dead_letter_by}` }));
    }
    const actions = el('div', { class: 'actions' });
    if (state === 'open') {
      const input = el('input', { type: 'text', class: 'discard-reason', placeholder: 'Why discard it?',
        maxlength: 1000, 'aria-label': 'Reason for discarding', hidden: true });
      const redrive = el('button', { type: 'button', class: 'btn btn-small btn-primary redrive', text: 'Re-drive',
        title: 'Send it to the subscriber again as a new event' });
      const discard = el('button', { type: 'button', class: 'btn btn-small btn-danger discard', text: 'Discard' });
      const cancel = el('button', { type: 'button', class: 'btn btn-small btn-quiet discard-cancel', text: 'Cancel',
        hidden: true });
      redrive.addEventListener('click', () => redriveOne(seq, row));
      discard.addEventListener('click', () => {
        if (input.hidden) {
          row.classList.add('discarding');
          show(input, true);
          show(cancel, true);
          show(redrive, false);
          discard.textContent = 'Confirm discard';
          input.focus();
          return;
        }
        discardOne(seq, input.value.trim(), row);
      });
      cancel.addEventListener('click', () => {
        row.classList.remove('discarding');
        input.value = '';
        show(input, false);
        show(cancel, false);
        show(redrive, true);
        discard.textContent = 'Discard';
      });
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') discardOne(seq, input.value.trim(), row);
        if (e.key === 'Escape') cancel.click();
      });
      actions.append(redrive, input, discard, cancel);
    }
    row.append(
      el('td', { class: 'num mono', text: `#${seq}` }),
      el('td', { class: 'mono', text: st.subscriber || n.department || '' }),
      el('td', {}, ev.case_id ? el('a', { href: `#/case/${encodeURIComponent(ev.case_id)}`, text: ev.case_id }) : ''),
      el('td', { class: 'reason', text: reason }),
      stateCell,
      el('td', {}, actions));
    return row;
  }

  // Remembers what this page did to dead letter seq (fields: its new state).
  function rememberHandled(seq, fields) {
    const list = (ops.data && Array.isArray(ops.data.dead_letters)) ? ops.data.dead_letters : [];
    const known = ops.handled.get(seq);
    const base = list.find((d) => num(d.notification && d.notification.seq) === seq) || (known && known.base) ||
      { notification: { seq } };
    ops.handled.set(seq, { base, fields });
  }

  function markHandled(seq, fields) {
    rememberHandled(seq, fields);
    if (ops.data) renderDeadLetters(Array.isArray(ops.data.dead_letters) ? ops.data.dead_letters : []);
  }

  async function redriveOne(seq, row) {
    for (const b of row.querySelectorAll('button')) b.disabled = true;
    try {
      const data = await api('POST', '/api/deadletters/redrive', { seq });
      const done = (data && data.redriven) || [];
      const mine = done.find((d) => num(d.seq) === seq) || done[0] || {};
      markHandled(seq, { dead_letter_state: 'redriven', redrive_seq: mine.redrive_seq, dead_letter_by: session.user });
      setStatus(`Dead letter #${seq} re-driven as event #${num(mine.redrive_seq)}.`, 'ok');
      loadOps(false);
    } catch (err) {
      for (const b of row.querySelectorAll('button')) b.disabled = false;
      setStatus(`Re-drive of #${seq}: ${errorText(err)}`);
    }
  }

  async function discardOne(seq, reason, row) {
    if (!reason) {
      setStatus('Say why the dead letter is discarded: the reason goes to the audit log.');
      const input = row.querySelector('.discard-reason');
      if (input) input.focus();
      return;
    }
    for (const b of row.querySelectorAll('button')) b.disabled = true;
    try {
      await api('POST', '/api/deadletters/discard', { seq, reason });
      row.classList.remove('discarding');
      markHandled(seq, { dead_letter_state: 'discarded', dead_letter_by: session.user });
      setStatus(`Dead letter #${seq} discarded.`, 'ok');
      loadOps(false);
    } catch (err) {
      for (const b of row.querySelectorAll('button')) b.disabled = false;
      setStatus(`Discard of #${seq}: ${errorText(err)}`);
    }
  }

  async function onRedriveAll() {
    const button = $('redrive-all');
    button.disabled = true;
    try {
      const data = await api('POST', '/api/deadletters/redrive', { all: true });
      const done = (data && data.redriven) || [];
      const failed = (data && data.failed) || [];
      for (const d of done) {
        rememberHandled(num(d.seq), { dead_letter_state: 'redriven', redrive_seq: d.redrive_seq,
          dead_letter_by: session.user });
      }
      if (ops.data) renderDeadLetters(ops.data.dead_letters || []);
      if (failed.length) {
        setStatus(`Re-drove ${done.length}; ${failed.length} failed: ` +
          failed.map((f) => `#${num(f.seq)}: ${f.message || 'failed'}`).join('; '));
      } else {
        setStatus(done.length ? `Re-drove ${done.length} dead letter${done.length > 1 ? 's' : ''}.`
          : 'There was no open dead letter to re-drive.', 'ok');
      }
      loadOps(false);
    } catch (err) {
      setStatus(`Re-drive all: ${errorText(err)}`);
    } finally {
      button.disabled = false;
    }
  }

  async function onDryRun() {
    const out = $('dry-run-result');
    clear(out);
    let event;
    try {
      event = JSON.parse($('dry-run').value);
    } catch (e) {
      out.append(el('p', { class: 'result result-error', text: `Not JSON: ${e.message}` }));
      return;
    }
    if (!event || typeof event !== 'object' || Array.isArray(event)) {
      out.append(el('p', { class: 'result result-error', text: 'The event must be a JSON object.' }));
      return;
    }
    const button = $('dry-run-submit');
    button.disabled = true;
    try {
      const data = await api('POST', '/api/policy/dry-run', { event });
      const matches = (data && Array.isArray(data.matches)) ? data.matches : [];
      if (!matches.length) {
        out.append(el('p', { class: 'result', text: 'No route matches: nobody would be notified.' }));
        return;
      }
      out.append(el('p', { class: 'result result-ok',
        text: `${matches.length} notification${matches.length > 1 ? 's' : ''} would be sent:` }));
      const list = el('ol', { class: 'matches' });
      for (const m of matches) {
        list.append(el('li', { class: 'match' },
          el('div', { class: 'match-head' },
            el('span', { class: 'mono strong', text: m.topic || `${m.department}.${m.kind}` }),
            el('span', { class: 'muted', text: ` route ${m.name || ''}` })),
          el('div', { class: 'small', text: m.reason ? `because ${m.reason}` : '' }),
          m.fields && m.fields.length ? el('div', { class: 'small muted', text: `sees only: ${m.fields.join(', ')}` })
            : null,
          num(m.respond_by_ms) ? el('div', { class: 'small muted',
            text: `answer within ${fmtSpan(num(m.respond_by_ms) - Date.now())}` }) : null));
      }
      out.append(list);
    } catch (err) {
      out.append(el('p', { class: 'result result-error', text: errorText(err) }));
    } finally {
      button.disabled = false;
    }
  }

  /* --------------------------------------------------------------- boot */

  async function boot() {
    $('login-form').addEventListener('submit', onLogin);
    $('logout').addEventListener('click', onLogout);
    $('dept-select').addEventListener('change', (e) => {
      location.hash = `#/inbox/${encodeURIComponent(e.target.value)}`;
    });
    $('inbox-all').addEventListener('change', () => {
      resetInbox();
      loadInbox(true);
    });
    $('detail-close').addEventListener('click', closeDetail);
    $('answer-form').addEventListener('submit', onAnswer);
    $('case-search-form').addEventListener('submit', onCaseSearch);
    $('ops-refresh').addEventListener('click', () => loadOps(true));
    $('deadletters-all').addEventListener('change', () => {
      if (ops.data) renderDeadLetters(ops.data.dead_letters || []);
    });
    $('redrive-all').addEventListener('click', onRedriveAll);
    $('dry-run-submit').addEventListener('click', onDryRun);
    window.addEventListener('hashchange', route);
    setInterval(tick, TICK_MS);

    try {
      adopt(await api('GET', '/api/session'));
    } catch (err) {
      if (err.status !== 401) setStatus(errorText(err));
    }
    document.body.classList.add('ready');
    route();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
}());
