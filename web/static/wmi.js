// WMI2's one script: it makes the server-rendered pages live. Without it every page still
// renders in full and every form still works (as a plain POST); with it, forms submit to
// the JSON API without a reload and show their job's state, and the event stream
// (/events) updates whatever part of the page an event concerns.
//
// Events are queued as they arrive and applied every FLUSH_MS in one go, so a burst (a
// bulk job, a replay after a reconnect) costs one DOM update, not hundreds; notifications
// of a burst are folded ("…and 12 more").

const FLUSH_MS = 250;
const MAX_TOASTS = 3;
const TOAST_MS = 6000;
const HOSTS_POLL_MS = 5000;
// Every type the pages act on: EventSource delivers a named event only to its listeners.
const TYPES = [
  "job.queued", "job.running", "job.succeeded", "job.failed", "job.cancelled",
  "user.created", "user.updated", "user.deleted",
  "group.created", "group.updated", "group.deleted",
  "host.online", "host.offline", "account.created", "account.updated", "stream.gap",
];
const RANK = { queued: 0, running: 1, succeeded: 2, failed: 2, cancelled: 2 };
const ENDED = new Set(["succeeded", "failed", "cancelled"]);

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";
const CSRF = meta("csrf-token");
const HOST = meta("wmi-host");
const ME = meta("wmi-login");

// --- how records read (the same rules as services/api/ui/views.py) -------------------------

const views = {
  when: (value) => {
    const moment = value ? new Date(value) : null;
    return moment && !Number.isNaN(moment.getTime()) ? moment.toISOString().slice(0, 19).replace("T", " ") : "";
  },
  count: (n) => n.toLocaleString("en-US"),
  userStatus: (u) => (!u.has_password ? "no password" : u.locked ? "locked" : "active"),
  subject: (e) => String(e.data?.login || e.data?.name || e.data?.target || ""),
  outcome: (j) => j.error || j.result || "",
  user: (u) => ({
    ...u,
    status: views.userStatus(u),
    groups: u.groups.join(", "),
    groups_or_none: u.groups.join(", ") || "none",
    groups_list: u.groups.join(" "),
    primary_group: u.primary_group ?? String(u.gid),
    password: u.has_password ? "set" : "none",
    last_change: u.last_change || "never",
  }),
};

// --- templates: <template> rows rendered by the same Jinja macro as the server's rows ------

// Fields the record lacks are left as they are: a job's event updates its state, not its target.
// A job line within the node (a form's status, showing another job) is that job's to fill.
function fill(node, record) {
  for (const el of [node, ...node.querySelectorAll("*")]) {
    const owner = el.closest("[data-job]");
    if (owner && owner !== node && node.contains(owner)) continue;
    const data = el.dataset;
    if (data.text !== undefined && data.text in record) el.textContent = record[data.text] ?? "";
    if (data.badge !== undefined && data.badge in record) setBadge(el, record[data.badge]);
    for (const key in data) {
      if (!key.startsWith("tpl") || key.length <= 3) continue;
      const attr = key.slice(3).toLowerCase();
      const fields = [...data[key].matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      if (!fields.every((field) => field in record)) continue;
      el.setAttribute(attr, data[key].replace(/\{(\w+)\}/g, (_, field) =>
        attr === "href" ? encodeURIComponent(record[field]) : String(record[field])));
    }
  }
  return node;
}

function setBadge(el, value) {
  const text = String(value ?? "");
  el.textContent = text;
  el.className = `badge badge-${text.replaceAll(" ", "-")}`;
}

function stamp(templateId, record, key) {
  const node = document.getElementById(templateId).content.firstElementChild.cloneNode(true);
  fill(node, record);
  node.dataset.key = key;
  return node;
}

function flash(el) {
  el.classList.remove("flash");
  void el.offsetWidth; // restart the animation
  el.classList.add("flash");
}

// --- the event stream --------------------------------------------------------------------

const handlers = [];
let queue = [];
let flushTimer = 0;
let lastId = meta("wmi-last-event");
let source = null;
let retryMs = 1000;
const conn = document.querySelector("[data-conn]");

function onEvents(handler) {
  handlers.push(handler);
}

function setConnection(state) {
  if (!conn) return;
  conn.hidden = false;
  conn.dataset.state = state;
  conn.textContent = state === "live" ? "Live" : "Reconnecting…";
  conn.title = state === "live" ? "Changes appear as they happen" : "The live updates are interrupted; catching up as soon as possible";
}

function connect() {
  // The page's last event id: the stream replays whatever happened since the page was read.
  // On its own reconnects the browser sends Last-Event-ID itself, which takes precedence.
  const url = lastId ? `/events?last_event_id=${encodeURIComponent(lastId)}` : "/events";
  source = new EventSource(url);
  source.onopen = () => {
    retryMs = 1000;
    setConnection("live");
  };
  source.onerror = () => {
    setConnection("reconnecting");
    // The events service closes the stream of a session that ends (logged out elsewhere, account
    // disabled, role changed): if that is why, go to the login page now rather than retry.
    checkSessionSoon();
    if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
    // The browser gave up (an HTTP error, such as 503 while the service restarts): retry
    // ourselves, from the last event received, backing off.
    source = null;
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 15000);
  };
  for (const type of TYPES) source.addEventListener(type, receive);
}

let sessionCheck = 0;

function checkSessionSoon() {
  if (sessionCheck) return;
  // A little jitter: when a service restarts, its thousands of pages do not ask all at once.
  sessionCheck = setTimeout(async () => {
    sessionCheck = 0;
    try {
      const answer = await fetch("/api/v1/session", { credentials: "same-origin" });
      if (answer.status === 401) location.assign("/login/");
    } catch {
      // The origin is down: the reconnection goes on.
    }
  }, Math.random() * 500);
}

function receive(message) {
  if (message.type === "stream.gap") {
    queue.push({ type: "stream.gap" });
  } else {
    try {
      queue.push(JSON.parse(message.data));
    } catch {
      return;
    }
    if (message.lastEventId) lastId = message.lastEventId;
  }
  if (!flushTimer) flushTimer = setTimeout(flush, FLUSH_MS);
}

function flush() {
  flushTimer = 0;
  const batch = queue;
  queue = [];
  for (const handler of handlers) {
    try {
      handler(batch);
    } catch (error) {
      console.error("wmi2: a page update failed", error);
    }
  }
}

// --- notifications, folded --------------------------------------------------------------

const toasts = document.querySelector("[data-toasts]");
let moreToast = null;
let moreCount = 0;

function toast(text, kind = "") {
  const el = document.createElement("div");
  el.className = `toast ${kind}`.trim();
  el.textContent = text;
  toasts.append(el);
  el.timer = setTimeout(() => dropToast(el), TOAST_MS);
  return el;
}

function dropToast(el) {
  el.remove();
  if (el === moreToast) {
    moreToast = null;
    moreCount = 0;
  }
}

function notify(lines) {
  for (const text of lines) {
    if (toasts.querySelectorAll(".toast:not(.more)").length < MAX_TOASTS) {
      toast(text);
      continue;
    }
    moreCount += 1;
    if (!moreToast) moreToast = toast("", "more");
    moreToast.textContent = `…and ${moreCount} more`;
    clearTimeout(moreToast.timer);
    moreToast.timer = setTimeout(() => dropToast(moreToast), TOAST_MS);
  }
}

function describe(event) {
  // One's own changes are shown next to the form that made them.
  if (event.actor && event.actor === ME) return null;
  const what = views.subject(event);
  const by = event.actor ? ` by ${event.actor}` : event.data?.external ? " on the host" : "";
  const kind = event.type.split(".")[0];
  switch (event.type) {
    case "user.created": case "group.created": return `${kind === "user" ? "User" : "Group"} ${what} created${by}`;
    case "user.updated": case "group.updated": return `${kind === "user" ? "User" : "Group"} ${what} changed${by}`;
    case "user.deleted": case "group.deleted": return `${kind === "user" ? "User" : "Group"} ${what} deleted${by}`;
    case "account.created": return `WMI account ${what} created${by}`;
    case "account.updated": return `WMI account ${what} changed${by}`;
    case "job.failed": return `Job ${event.data.action} ${what} failed${by}: ${event.data.error ?? ""}`;
    case "job.cancelled": return `Job ${event.data.action} ${what} cancelled${by}`;
    case "host.online": return `Host ${event.host} is online`;
    case "host.offline": return `Host ${event.host} is offline`;
    default: return null;
  }
}

onEvents((batch) => notify(batch.map(describe).filter(Boolean)));

// Disabled, or given another role: this session is over; the reload leads to the login page.
onEvents((batch) => {
  if (batch.some((e) => e.type === "account.updated" && e.data.login === ME)) location.reload();
});

// --- jobs: every [data-job] on the page follows its job ---------------------------------

const jobs = new Map(); // id -> {state, outcome}, as the events told

function jobUpdate(event) {
  if (!event.type?.startsWith("job.") || !event.job) return null;
  const state = event.type.slice(4);
  const known = jobs.get(event.job);
  // A replayed older event never moves a job backwards.
  if (known && RANK[known.state] > RANK[state]) return known;
  const job = { state, outcome: views.outcome(event.data ?? {}) };
  jobs.set(event.job, job);
  return job;
}

function showJob(el, job) {
  fill(el, job);
  el.closest("[data-form-status]")?.classList.toggle("failed", job.state === "failed");
}

onEvents((batch) => {
  for (const event of batch) {
    const job = jobUpdate(event);
    if (!job) continue;
    for (const el of document.querySelectorAll(`[data-job="${CSS.escape(event.job)}"]`)) showJob(el, job);
  }
});

// --- a job's age and stuck flag, and its controls, as the server renders them ----------------
// (the same rules as job_age and StuckAfter in services/api: ui/views.py, routes/jobs.py)

const AGE_TICK_MS = 1000;
// Whole phrases, each to be translated as one (as views.py's SPANS, AGES and STUCK).
const SPANS = [[60, 1, (n) => `${n} s`], [3600, 60, (n) => `${n} min`], [48 * 3600, 3600, (n) => `${n} h`], [Infinity, 86400, (n) => `${n} d`]];
const AGES = {
  queued: (span) => `queued ${span} ago`,
  running: (span) => `running for ${span}`,
  ended: (span) => `ended ${span} ago`,
};
const STUCK = {
  queued: (limit) => `Queued for longer than ${limit} s: is the host's worker running?`,
  running: (limit) => `Running for longer than ${limit} s: its worker may be hung or gone.`,
};

function span(seconds) {
  const s = Math.max(0, seconds);
  const [, unit, phrase] = SPANS.find(([below]) => s < below);
  return phrase(Math.floor(s / unit));
}

// The server's clock, not the browser's: a skewed laptop would flag every job, or none.
function jobClock(root) {
  const skew = Date.parse(root.dataset.now) - Date.now();
  const limits = { queued: Number(root.dataset.stuckQueued), running: Number(root.dataset.stuckRunning) };
  const seconds = (iso, now) => (iso ? (now - Date.parse(iso)) / 1000 : NaN);

  function age(el) {
    const now = Date.now() + skew;
    const { state, created, started, finished } = el.dataset;
    const key = state === "queued" || state === "running" ? state : "ended";
    const since = { queued: created, running: started || created, ended: finished || created }[key];
    const text = Number.isNaN(seconds(since, now)) ? "" : AGES[key](span(seconds(since, now)));
    for (const target of el.querySelectorAll("[data-age]")) if (target.textContent !== text) target.textContent = text;
    const stuck = key !== "ended" && seconds(since, now) > limits[key];
    for (const badge of el.querySelectorAll("[data-stuck]")) {
      badge.hidden = !stuck;
      if (stuck) badge.title = STUCK[key](limits[key]);
    }
  }

  function tick() {
    if (document.visibilityState === "visible") document.querySelectorAll("[data-job-live]").forEach(age);
  }
  setInterval(tick, AGE_TICK_MS);
  document.addEventListener("visibilitychange", tick);
  return age;
}

// A job's event moves its element: state, start or end time, and which controls it offers.
function followJob(el, job, event) {
  const state = job.state;
  if (state === "running" && !el.dataset.started) el.dataset.started = event.at;
  if (ENDED.has(state) && !el.dataset.finished) el.dataset.finished = event.at;
  el.dataset.state = state;
  for (const form of el.querySelectorAll("form[data-when-state]")) {
    form.hidden = !form.dataset.whenState.split(" ").includes(state);
  }
}

// --- forms: submitted to the JSON API, their job shown next to them -------------------------

function serialize(form) {
  const body = {};
  const query = new URLSearchParams();
  let hasBody = false;
  for (const el of form.elements) {
    if (!el.name || el.disabled || el.name === "csrf_token" || el.name === "host" || "skip" in el.dataset) continue;
    if (el.type === "radio" && !el.checked) continue;
    const type = el.dataset.type;
    let value;
    if (el.type === "checkbox" && type !== "bool") {
      // Checkboxes sharing a name: the list of those ticked.
      body[el.name] ??= [];
      if (el.checked) body[el.name].push(el.value);
      hasBody = true;
      continue;
    } else if (el.type === "checkbox") {
      value = el.checked;
    } else if (type === "list") {
      value = el.value.split(/[\s,]+/).filter(Boolean);
    } else if (type === "int") {
      if (el.value.trim() === "" && "optional" in el.dataset) continue;
      value = el.value.trim() === "" ? null : Number(el.value);
    } else if (type === "bool-text") {
      value = el.value === "true";
    } else {
      if (el.value === "" && "optional" in el.dataset) continue;
      value = el.value;
    }
    if (el.dataset.in === "query") {
      query.append(el.name, value);
    } else {
      body[el.name] = value;
      hasBody = true;
    }
  }
  const url = form.dataset.api + (query.size ? `?${query}` : "");
  return { url, body: hasBody ? JSON.stringify(body) : undefined };
}

function statusOf(form) {
  return form.querySelector("[data-form-status]") ?? form.closest("td, .card")?.querySelector("[data-form-status]");
}

function say(status, text, kind) {
  if (!status) return;
  const line = document.createElement("span");
  line.className = kind;
  line.textContent = text;
  status.replaceChildren(line);
}

function showAccepted(status, id) {
  if (!status) return;
  const line = document.createElement("span");
  line.dataset.job = id;
  const badge = document.createElement("span");
  badge.dataset.badge = "state";
  const outcome = document.createElement("span");
  outcome.className = "outcome";
  outcome.dataset.text = "outcome";
  line.append("Job ", badge, " ", outcome);
  status.replaceChildren(line);
  // Its events may have arrived before this answer did.
  showJob(line, jobs.get(id) ?? { state: "queued", outcome: "" });
}

function resetForm(form) {
  form.reset();
  for (const el of form.querySelectorAll("[data-password-input]")) el.dispatchEvent(new Event("input"));
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.api) return;
  event.preventDefault();
  const status = statusOf(form);
  const button = event.submitter;
  const { url, body } = serialize(form);
  button?.setAttribute("aria-busy", "true");
  if (button) button.disabled = true;
  try {
    const answer = await fetch(url, {
      method: form.dataset.method || "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": CSRF },
      credentials: "same-origin",
      body,
    });
    const reply = await answer.json().catch(() => ({}));
    if (answer.status === 401) {
      location.assign("/login/");
    } else if (answer.status === 202) {
      showAccepted(status, reply.id);
      if ("reset" in form.dataset) resetForm(form);
    } else if (answer.ok) {
      say(status, form.dataset.done || "Saved.", "done");
      if ("reset" in form.dataset) resetForm(form);
    } else {
      say(status, reply.detail || `Refused (HTTP ${answer.status}).`, "error");
    }
  } catch {
    say(status, "The WMI could not be reached: check the connection, then try again.", "error");
  } finally {
    button?.removeAttribute("aria-busy");
    if (button) button.disabled = false;
  }
});

// --- passwords: a generator and a strength hint -------------------------------------------

const ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789-_.!+";

function generatePassword(length = 20) {
  const out = [];
  const limit = 256 - (256 % ALPHABET.length); // rejection sampling: no bias
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < limit && out.length < length) out.push(ALPHABET[byte % ALPHABET.length]);
    }
  }
  return out.join("");
}

function strength(password) {
  if (!password) return [0, ""];
  let pool = 0;
  if (/[a-z]/.test(password)) pool += 26;
  if (/[A-Z]/.test(password)) pool += 26;
  if (/[0-9]/.test(password)) pool += 10;
  if (/[^a-zA-Z0-9]/.test(password)) pool += 33;
  // Repeats add little: count at most two of each distinct character.
  const bits = Math.log2(Math.max(pool, 2)) * Math.min(password.length, new Set(password).size * 2);
  if (password.length < 8) return [0, `Too short: ${password.length} characters; use 12 or more.`];
  if (bits < 40) return [1, "Weak: easy to guess."];
  if (bits < 60) return [2, "Fair: a few more characters would make it safer."];
  if (bits < 80) return [3, "Good."];
  return [4, "Strong."];
}

function enhancePassword(box) {
  const input = box.querySelector("[data-password-input]");
  const meter = box.querySelector("[data-strength-meter]");
  const text = box.querySelector("[data-strength-text]");
  const generate = box.querySelector("[data-generate]");
  const reveal = box.querySelector("[data-reveal]");
  const idle = text.textContent;
  generate.hidden = reveal.hidden = false;
  const show = (visible) => {
    input.type = visible ? "text" : "password";
    reveal.textContent = visible ? "Hide" : "Show";
    reveal.setAttribute("aria-pressed", String(visible));
  };
  input.addEventListener("input", () => {
    const [score, words] = strength(input.value);
    meter.hidden = !input.value;
    meter.value = score;
    text.textContent = input.value ? `Strength: ${words}` : idle;
    if (!input.value) show(false);
  });
  generate.addEventListener("click", () => {
    input.value = generatePassword();
    show(true);
    input.dispatchEvent(new Event("input"));
    input.focus();
    input.select();
  });
  reveal.addEventListener("click", () => show(input.type === "password"));
}

// --- group names, suggested as an admin types (a page never carries every name) ------------

const SUGGEST_MS = 200;
const SUGGESTED = 20;

// An input with data-suggest (the groups' API) and a <datalist>: its last word is searched
// on the server. A list input keeps its earlier words, so each option is the whole value.
function suggestGroups(input) {
  const list = document.getElementById(input.getAttribute("list"));
  let timer = 0;
  let asked = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const last = input.value.match(/[^\s,]*$/)[0];
      const head = input.value.slice(0, input.value.length - last.length);
      if (last === asked) return;
      asked = last;
      if (!last) return list.replaceChildren();
      try {
        const url = `${input.dataset.suggest}?${new URLSearchParams({ q: last, limit: SUGGESTED })}`;
        const answer = await fetch(url, { credentials: "same-origin" });
        if (!answer.ok) return;
        const { items } = await answer.json();
        list.replaceChildren(...items.map((g) => new Option(g.name, head + g.name)));
      } catch {
        // Offline: typing a name by hand still works.
      }
    }, SUGGEST_MS);
  });
}

// --- regions: parts of a page the server renders again when an event says they changed ------
//
// The page asks for itself (its address holds its state: filters, order, page) and swaps in
// the regions that differ. At most one request is in flight and the next waits REFRESH_MS,
// so a burst of a thousand events costs a handful of requests. Rows keep their node while
// the server renders them the same; a new or changed one flashes. While a refresh is due or
// running, <body data-refreshing> says so.

const REFRESH_MS = 500;
const regionState = { timer: 0, running: false, again: false };

function refreshRegions() {
  if (regionState.running) {
    regionState.again = true;
    return;
  }
  document.body.dataset.refreshing = "";
  if (!regionState.timer) regionState.timer = setTimeout(runRefresh, FLUSH_MS);
}

async function runRefresh() {
  regionState.timer = 0;
  regionState.running = true;
  regionState.again = false;
  const started = Date.now();
  try {
    const address = location.href;
    const answer = await fetch(address, { credentials: "same-origin" });
    // An address changed meanwhile (a filter typed) asks again; its answer is the one shown.
    if (answer.ok && address === location.href) swapRegions(new DOMParser().parseFromString(await answer.text(), "text/html"));
    else if (address !== location.href) regionState.again = true;
  } catch {
    // Offline: the next event or reconnect tries again.
  }
  regionState.running = false;
  if (regionState.again) {
    regionState.timer = setTimeout(runRefresh, Math.max(0, REFRESH_MS - (Date.now() - started)));
  } else {
    delete document.body.dataset.refreshing;
  }
}

function swapRegions(fresh) {
  for (const el of document.querySelectorAll("[data-region], [data-count]")) {
    const selector = el.dataset.region ? `[data-region="${el.dataset.region}"]` : "[data-count]";
    const twin = fresh.querySelector(selector);
    if (!twin) continue;
    const rows = el.querySelector("[data-rows]");
    const freshRows = twin.querySelector("[data-rows]");
    if (rows && freshRows) {
      swapRows(rows, freshRows);
      freshRows.replaceWith(rows); // the live tbody, its rows merged, in place of the fresh one
      el.replaceChildren(...twin.childNodes); // the WMI's own, escaped server rendering
    } else if (twin.innerHTML !== el.innerHTML) {
      el.innerHTML = twin.innerHTML;
      flash(el);
    }
  }
}

function served(row) {
  row.served ??= row.outerHTML; // before any flash changes its class
  return row.served;
}

function swapRows(tbody, fresh) {
  const before = new Map([...tbody.children].map((tr) => [tr.dataset.key, tr]));
  const rows = [...fresh.children].map((tr) => {
    const old = before.get(tr.dataset.key);
    if (old && served(old) === tr.outerHTML) return old;
    served(tr);
    flash(tr);
    // A row that changed keeps its tick in the selection of the bulk actions.
    const picked = old?.querySelector("input[name=logins]");
    const pick = tr.querySelector("input[name=logins]");
    if (picked && pick) pick.checked = picked.checked;
    return tr;
  });
  tbody.replaceChildren(...rows);
}

// --- a list of a host's users or groups: one page, filtered and sorted by the server --------

const TYPING_MS = 300;

function listPage() {
  const root = document.querySelector("[data-live-list]");
  const kind = root.dataset.kind;
  const controls = root.querySelector("[data-table-controls]");
  for (const el of controls.querySelectorAll("[data-nojs]")) el.hidden = true;
  let typing = 0;

  // The address is the list's state: a reload or a shared link shows the same page.
  function show(address) {
    clearTimeout(typing);
    const url = new URL(address, location.href).href;
    if (url === location.href) return;
    history.replaceState(null, "", url);
    // A header's link changes the order: the form's hidden fields carry it into the next filter.
    const params = new URL(url).searchParams;
    for (const el of controls.querySelectorAll("input[type=hidden]")) el.value = params.get(el.name) ?? "";
    refreshRegions();
  }

  function fromControls() {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(controls)) if (value !== "") params.set(name, value);
    return `${location.pathname}?${params}`;
  }

  controls.addEventListener("submit", (e) => {
    e.preventDefault();
    show(fromControls());
  });
  controls.addEventListener("change", () => show(fromControls()));
  controls.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => show(fromControls()), TYPING_MS);
  });
  root.addEventListener("click", (e) => {
    const link = e.target.closest("a[data-sort], a[data-page]");
    if (!link || e.ctrlKey || e.metaKey || e.shiftKey) return;
    e.preventDefault();
    show(link.href);
    if (link.dataset.page) root.scrollIntoView({ block: "start" });
  });
  onEvents((batch) => {
    if (batch.some((e) => e.type === "stream.gap" || (e.type?.startsWith(`${kind}.`) && ofHost(e)))) refreshRegions();
  });
}

// --- the pages --------------------------------------------------------------------------

function ofHost(event) {
  return event.host === HOST;
}

function dashboard() {
  const stat = (name) => document.querySelector(`[data-stat="${name}"]`);
  const unfinished = document.querySelector("[data-unfinished]");
  const events = document.querySelector("[data-events]");
  const limit = Number(events.dataset.limit);
  const finished = new Set();

  function showUnfinished() {
    stat("jobs").textContent = views.count(unfinished.children.length);
    unfinished.parentElement.querySelector("[data-empty]").hidden = unfinished.children.length > 0;
  }

  onEvents((batch) => {
    for (const event of batch) {
      if (event.type === "stream.gap") location.reload();
      const [kind, what] = (event.type ?? "").split(".");
      if (kind === "job" && ofHost(event)) {
        let item = unfinished.querySelector(`[data-key="${CSS.escape(event.job)}"]`);
        if (ENDED.has(what)) {
          finished.add(event.job);
          item?.remove();
        } else if (!finished.has(event.job)) {
          const job = { state: what, action: event.data.action, target: event.data.target, actor: event.actor ?? "" };
          if (item) fill(item, job);
          else item = unfinished.insertBefore(stamp("tpl-unfinished", job, event.job), unfinished.firstChild);
          flash(item);
        }
      }
      if (event.id && !events.querySelector(`[data-key="${CSS.escape(event.id)}"]`)) {
        const by = event.actor ? `by ${event.actor}` : event.data?.external ? "on the host" : "";
        const shown = { at: views.when(event.at), type: event.type, subject: views.subject(event), by };
        const item = stamp("tpl-event", shown, event.id);
        item.querySelector("time").setAttribute("datetime", event.at);
        events.insertBefore(item, events.firstChild);
        flash(item);
      }
    }
    while (events.children.length > limit) events.lastElementChild.remove();
    events.parentElement.querySelector("[data-empty]").hidden = events.children.length > 0;
    // The counts are the server's: asked again (the regions) rather than counted here.
    if (batch.some((e) => /^(user|group)\./.test(e.type ?? "") && ofHost(e))) refreshRegions();
    showUnfinished();
    if (batch.some((e) => e.type?.startsWith("host."))) pollHosts();
  });

  const hosts = document.querySelector("[data-hosts]");
  async function pollHosts() {
    try {
      const answer = await fetch(hosts.dataset.source, { credentials: "same-origin" });
      if (!answer.ok) return;
      for (const host of await answer.json()) {
        let item = hosts.querySelector(`[data-key="${CSS.escape(host.name)}"]`);
        if (!item) {
          item = document.createElement("li");
          item.dataset.key = host.name;
          item.innerHTML = '<strong></strong> <span data-badge="state"></span> <span class="muted" data-text="seen"></span>';
          item.querySelector("strong").textContent = host.name;
          hosts.append(item);
        }
        const seen = host.last_seen ? `last seen ${views.when(host.last_seen)}` : "never seen";
        const before = item.querySelector("[data-badge]").textContent;
        fill(item, { state: host.online ? "online" : "offline", seen });
        if (before && before !== item.querySelector("[data-badge]").textContent) flash(item);
      }
    } catch {
      // Offline: the connection state says so already.
    }
  }
  // Heartbeats expire without an event: look while someone is looking.
  setInterval(() => document.visibilityState === "visible" && pollHosts(), HOSTS_POLL_MS);
}

function recordPage() {
  const head = document.querySelector("[data-record]");
  const kind = head.dataset.record;
  const key = head.dataset.key;
  const gone = document.querySelector("[data-gone]");

  function setGone(isGone, by) {
    gone.hidden = !isGone;
    gone.querySelector("[data-gone-by]").textContent = isGone && by ? ` (deleted ${by})` : "";
    for (const form of document.querySelectorAll("form[data-mutates]")) {
      for (const el of form.elements) el.disabled = isGone;
    }
  }

  function setValue(el, value) {
    // A field the admin is editing is left alone; an untouched one follows the record.
    if (el.tagName === "SELECT") {
      el.dataset.initial ??= el.value;
      if (el.value !== el.dataset.initial && el.value !== value) return;
      if (![...el.options].some((o) => o.value === value)) el.add(new Option(value, value));
      el.value = el.dataset.initial = value;
    } else if (el.value === el.defaultValue || el.value === value) {
      el.value = el.defaultValue = value;
    }
  }

  // A user's fields follow its record; a group's page asks the server for its regions again
  // (its members are one page of them, rendered there).
  function show(record) {
    const shown = { ...views.user(record), groups: views.user(record).groups_or_none };
    for (const el of document.querySelectorAll("[data-field]")) {
      const value = String(shown[el.dataset.field] ?? "");
      if (el.textContent !== value) {
        el.textContent = value;
        flash(el);
      }
    }
    for (const el of document.querySelectorAll("main [data-badge]")) {
      if (!el.closest("[data-job]") && el.dataset.badge in shown) setBadge(el, shown[el.dataset.badge]);
    }
    for (const el of document.querySelectorAll("[data-field-value]")) setValue(el, String(shown[el.dataset.fieldValue] ?? ""));
    for (const form of document.querySelectorAll("form[data-when]")) form.hidden = (form.dataset.when === "locked") !== record.locked;
  }

  onEvents((batch) => {
    for (const event of batch) {
      if (event.type === "stream.gap") location.reload();
      const [what, change] = (event.type ?? "").split(".");
      if (what !== kind || !ofHost(event) || event.data[kind === "user" ? "login" : "name"] !== key) continue;
      if (change === "deleted") {
        setGone(true, event.actor ? `by ${event.actor}` : event.data.external ? "on the host" : "");
      } else {
        setGone(false);
        if (kind === "user") show(event.data);
        else refreshRegions();
      }
    }
  });
}

function jobsPage() {
  const root = document.querySelector("[data-jobs]");
  const age = jobClock(root);
  const tbody = root.querySelector("[data-rows]");
  const count = document.querySelector("[data-count]");
  const filter = root.dataset.state;
  const firstPage = root.dataset.firstPage === "yes";
  const size = Number(root.dataset.pageSize);
  onEvents((batch) => {
    for (const event of batch) {
      if (!ofHost(event)) continue;
      const job = jobUpdate(event);
      if (!job) continue;
      let row = tbody.querySelector(`[data-key="${CSS.escape(event.job)}"]`);
      if (row) {
        fill(row, job);
      } else if (firstPage && (!filter || filter === job.state)) {
        const record = { ...job, id: event.job, action: event.data.action, target: event.data.target, actor: event.actor ?? "", created: views.when(event.at) };
        row = tbody.insertBefore(stamp("tpl-job-row", record, event.job), tbody.firstChild);
        row.querySelector("time").setAttribute("datetime", event.at);
        row.dataset.created = event.at;
        for (const form of row.querySelectorAll("form[data-control]")) {
          form.dataset.api = `/api/v1/jobs/${encodeURIComponent(event.job)}/${form.dataset.control}`;
        }
        count.textContent = views.count(Number(count.textContent.replaceAll(",", "")) + 1);
      } else {
        continue;
      }
      followJob(row, job, event);
      age(row);
      flash(row);
    }
    while (tbody.children.length > size) tbody.lastElementChild.remove();
    root.querySelector("[data-empty]").hidden = tbody.children.length > 0;
  });
}

function jobPage() {
  const root = document.querySelector("[data-job-page]");
  const age = jobClock(root);
  onEvents((batch) => {
    for (const event of batch) {
      if (event.type === "stream.gap") location.reload();
      if (event.job !== root.dataset.key) continue;
      const job = jobUpdate(event);
      if (!job) continue;
      const times = {};
      if (job.state === "running") times.started = views.when(event.at);
      if (ENDED.has(job.state)) times.finished = views.when(event.at);
      fill(root, { ...job, ...times });
      followJob(root, job, event);
      age(root);
    }
  });
}

function auditPage() {
  // Audit entries are not events: the first page is fetched again when a job or an account moves.
  const first = document.querySelector('[data-region="audit-rows"]').dataset.firstPage === "yes";
  onEvents((batch) => {
    if (first && batch.some((e) => /^(job\.(queued|succeeded|failed|cancelled)|account\.)/.test(e.type ?? ""))) refreshRegions();
  });
}

function accountsPage() {
  onEvents((batch) => {
    if (batch.some((e) => e.type?.startsWith("account."))) refreshRegions();
  });
}

const PAGES = {
  dashboard,
  users: listPage,
  groups: listPage,
  user: recordPage,
  group: recordPage,
  jobs: jobsPage,
  job: jobPage,
  audit: auditPage,
  accounts: accountsPage,
};

for (const box of document.querySelectorAll("[data-password]")) enhancePassword(box);
for (const input of document.querySelectorAll("input[data-suggest][list]")) suggestGroups(input);
PAGES[document.body.dataset.page]?.();
connect();
