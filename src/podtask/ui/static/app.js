// podtask ui: the runs list and a run's page. Plain DOM, no build step.
// Data comes from /api/*; live changes arrive over server-sent events (no polling).
"use strict";

const TOKEN = new URLSearchParams(location.search).get("token") || "";
const MAX_LOG_CHARS = 2 * 1024 * 1024; // what one log view keeps in memory
const $ = (sel, root = document) => root.querySelector(sel);

function url(path, params = {}) {
  const q = new URLSearchParams({ token: TOKEN });
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  return `${path}?${q}`;
}
async function api(path, params) {
  const r = await fetch(url(path, params));
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "style") Object.assign(node.style, v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}
const clock = (ts) => (ts ? new Date(ts * 1000).toLocaleString() : "-");
function secs(s) {
  if (s === null || s === undefined) return "-";
  if (s < 60) return `${s.toFixed(s < 10 ? 3 : 1)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${Math.round(s % 60)}s` : `${Math.floor(m / 60)}h${m % 60}m`;
}
const rel = (t) => (t === null || t === undefined ? "-" : `+${t.toFixed(3)}s`);
function phaseBadge(phase, id) {
  return el("span", { class: `phase phase-${phase}`, id, "data-phase": phase, text: phase });
}
function setLive(on) { $("#live").classList.toggle("on", on); }

// ---------------------------------------------------------------- runs list
function showList() {
  document.title = "podtask runs";
  const params = new URLSearchParams(location.search);
  const state = { phase: params.get("phase") || "", engine: params.get("engine") || "", task: params.get("task") || "", runs: [], more: false };
  const phaseSel = el("select", { id: "f-phase", "aria-label": "phase" });
  const engineSel = el("select", { id: "f-engine", "aria-label": "engine" });
  const taskIn = el("input", { id: "f-task", type: "search", placeholder: "task contains…", value: state.task, "aria-label": "task" });
  const count = el("span", { id: "count", class: "muted" });
  const body = el("tbody");
  const more = el("button", { id: "more", hidden: true, text: "Older runs", onclick: () => load(true) });
  $("#main").replaceChildren(
    el("h1", { text: "Runs" }),
    el("div", { class: "filters" },
      el("label", {}, "Phase ", phaseSel), el("label", {}, "Engine ", engineSel), el("label", {}, "Task ", taskIn), count),
    el("table", { id: "runs" },
      el("thead", {}, el("tr", {}, ...["Run", "Task", "Engine", "Phase", "Reason", "Started", "Duration", "Attempts"].map((h) => el("th", { text: h })))),
      body),
    more,
  );
  const options = (sel, values, current, counts) => {
    sel.replaceChildren(el("option", { value: "", text: "all" }),
      ...values.map((v) => el("option", { value: v, selected: v === current, text: counts ? `${v} (${counts[v]})` : v })));
  };
  function row(r) {
    const link = el("a", { href: url(`/run/${encodeURIComponent(r.run_id)}`), class: "mono", text: r.run_id });
    return el("tr", { "data-run-id": r.run_id, "data-phase": r.phase },
      el("td", {}, link), el("td", { text: r.task }), el("td", { text: r.engine }),
      el("td", {}, phaseBadge(r.phase)), el("td", { text: r.reason || "" }),
      el("td", { text: clock(r.created_at) }),
      el("td", { class: "duration", "data-created": r.created_at, "data-ended": r.ended_at ?? "", text: secs((r.ended_at || Date.now() / 1000) - r.created_at) }),
      el("td", { text: String(r.attempts) }));
  }
  async function load(older) {
    const last = state.runs[state.runs.length - 1];
    const data = await api("/api/runs", {
      phase: state.phase, engine: state.engine, task: state.task,
      before_at: older && last ? last.created_at : "", before_id: older && last ? last.run_id : "",
      limit: older ? "" : Math.max(200, state.runs.length),
    });
    state.runs = older ? state.runs.concat(data.runs) : data.runs;
    state.more = data.more;
    const phases = Object.keys(data.phases).sort();
    if (state.phase && !phases.includes(state.phase)) phases.push(state.phase);
    options(phaseSel, phases, state.phase, data.phases);
    options(engineSel, data.engines, state.engine);
    body.replaceChildren(...state.runs.map(row));
    if (!state.runs.length) body.append(el("tr", {}, el("td", { colspan: 8, class: "empty", text: "No runs match. Start one with: podtask run FILE.py TASK" })));
    count.textContent = `${data.total} run${data.total === 1 ? "" : "s"}${data.total > state.runs.length ? `, newest ${state.runs.length} shown` : ""}`;
    more.hidden = !state.more;
  }
  function filtersChanged() {
    state.phase = phaseSel.value; state.engine = engineSel.value; state.task = taskIn.value.trim();
    const q = new URLSearchParams({ token: TOKEN });
    for (const k of ["phase", "engine", "task"]) if (state[k]) q.set(k, state[k]);
    history.replaceState(null, "", `/?${q}`);
    state.runs = [];
    load(false);
  }
  phaseSel.addEventListener("change", filtersChanged);
  engineSel.addEventListener("change", filtersChanged);
  let typing;
  taskIn.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(filtersChanged, 250); });
  load(false);
  // Durations of runs in flight tick with the clock: a redraw, not a request.
  setInterval(() => {
    for (const td of body.querySelectorAll("td.duration")) {
      if (!td.dataset.ended) td.textContent = secs(Date.now() / 1000 - Number(td.dataset.created));
    }
  }, 1000);
  stream("/api/stream/runs", {}, { changed: () => load(false) });
}

// Server-sent events, reopened after a drop (with fresh parameters) until the server says done.
function stream(path, paramsFn, handlers) {
  let source;
  let finished = false;
  const open = () => {
    const params = typeof paramsFn === "function" ? paramsFn() : paramsFn;
    source = new EventSource(url(path, params));
    source.onopen = () => setLive(true);
    for (const [name, fn] of Object.entries(handlers)) source.addEventListener(name, (e) => fn(JSON.parse(e.data)));
    source.addEventListener("done", () => { finished = true; source.close(); setLive(false); });
    source.onerror = () => {
      source.close(); setLive(false);
      if (!finished) setTimeout(open, 1500);
    };
  };
  open();
}

// ---------------------------------------------------------------- a run's page
function showRun(runId) {
  const logs = {}; // container -> {start, end, size, text}
  const view = { selected: null, detail: null, query: "", follow: true };
  const tip = $("#tip");

  $("#main").replaceChildren(el("p", { class: "muted", text: "Loading…" }));

  function header(d) {
    const r = d.run;
    const duration = (r.ended_at || Date.now() / 1000) - r.created_at;
    const kv = (k, v) => [el("dt", { text: k }), el("dd", {}, v)];
    const meta = el("dl", { class: "meta" },
      kv("Phase", el("span", {}, phaseBadge(r.phase, "phase"), " ", el("span", { id: "reason", text: r.reason || "" }))),
      r.message ? kv("Message", el("span", { id: "message", text: r.message })) : null,
      kv("Engine", r.engine), kv("Run", el("code", { text: r.run_id })),
      kv("Started", clock(r.created_at)), kv("Duration", el("span", { id: "duration", text: secs(duration) + (r.terminal ? "" : " so far") })),
      kv("Attempts", String(r.attempts)),
      kv("Inputs", el("code", { id: "inputs", text: JSON.stringify(d.inputs ?? {}) })),
      kv("Outputs", el("code", { id: "outputs", text: d.outputs ? JSON.stringify(d.outputs) : "-" })),
      d.sidecar_issues.length ? kv("Sidecar issues", d.sidecar_issues.join("; ")) : null,
    );
    return el("section", { id: "header" }, el("h1", { id: "task", text: r.task }), meta);
  }

  function timeline(d) {
    const tl = d.timeline;
    const span = Math.max(tl.live ? Math.max(tl.end, Date.now() / 1000 - tl.origin) : tl.end, 0.001);
    const pct = (t) => `${Math.min(100, Math.max(0, (t / span) * 100))}%`;
    const ticks = el("div", { class: "ticks" });
    const step = niceStep(span / 6);
    for (let t = 0; t <= span + 1e-9; t += step) ticks.append(el("span", { class: "tick", style: { left: pct(t) }, text: secs(t) }));
    const lanes = tl.lanes.map((l) => {
      const end = l.finished_at ?? span;
      const failed = l.finished_at !== null && l.exit_code !== 0 && l.sigterm_at === null;
      const bar = l.started_at === null ? null : el("div", {
        class: `bar${l.running ? " running" : ""}${failed ? " failed" : ""}`, tabindex: 0,
        "data-start": l.started_at, "data-end": l.finished_at ?? "", "aria-label": laneText(l).replace(/\n/g, "; "),
        style: { left: pct(l.started_at), width: `calc(${pct(end)} - ${pct(l.started_at)})` },
      });
      if (bar) {
        const show = (e) => showTip(bar, laneText(l));
        bar.addEventListener("mouseenter", show); bar.addEventListener("focus", show);
        bar.addEventListener("mouseleave", hideTip); bar.addEventListener("blur", hideTip);
      }
      const marks = [];
      const mark = (kind, t, label) => {
        if (t === null || t === undefined) return;
        marks.push(el("div", { class: `mark mark-${kind}`, "data-t": t, style: { left: pct(t) } }, el("span", { class: "mark-label", text: label })));
      };
      if (l.sigterm_at !== null) {
        // Shaded until SIGKILL was sent (the exit may be stamped a hair earlier), else until the
        // container ended or the grace ends, whichever comes first.
        const stop = l.sigkill_at ?? Math.min(l.grace_end ?? Infinity, l.finished_at ?? span);
        marks.push(el("div", { class: "grace", "data-start": l.sigterm_at, "data-end": stop, style: { left: pct(l.sigterm_at), width: `calc(${pct(stop)} - ${pct(l.sigterm_at)})` } }));
      }
      // Without a probe a container is ready when it starts: the line stays, the word would crowd.
      mark("ready", l.ready_at, l.ready_at !== null && l.ready_at - l.started_at > 0.001 ? "ready" : "");
      mark("sigterm", l.sigterm_at, "SIGTERM");
      mark("sigkill", l.sigkill_at, "SIGKILL");
      if (l.finished_at !== null) mark("exit", l.finished_at, `exit ${l.exit_code ?? "?"}`);
      const tags = [];
      if (l.is_primary) tags.push(el("span", { class: "tag tag-primary", text: "primary" }));
      if (l.kind === "init") tags.push(el("span", { class: "tag", text: "init" }));
      if (l.kind === "native-sidecar") tags.push(el("span", { class: "tag", text: "native sidecar" }));
      const attemptLines = tl.attempts.filter((a) => a.attempt > 1).map((a) => el("div", { class: "attempt-start", style: { left: pct(a.start) } }));
      return el("div", {
        class: `lane lane-kind-${l.kind}${l.is_primary ? " lane-primary" : ""}`,
        "data-container": l.container, "data-attempt": l.attempt, "data-kind": l.kind, "data-primary": String(l.is_primary),
      },
      el("div", { class: "lane-label", title: l.container }, el("span", { class: "muted", text: `#${l.attempt} ` }), l.container, ...tags),
      el("div", { class: "track" }, ...attemptLines, bar, ...marks));
    });
    const legend = el("div", { class: "legend" },
      el("span", {}, el("span", { class: "swatch", style: { background: "var(--run)" } }), "primary"),
      el("span", {}, el("span", { class: "swatch", style: { background: "#8c959f" } }), "sidecar"),
      el("span", {}, el("span", { class: "swatch", style: { background: "#3fb950" } }), "native sidecar"),
      el("span", {}, el("span", { class: "swatch", style: { background: "#a371f7" } }), "init"),
      el("span", {}, el("span", { class: "swatch grace", style: { position: "static", display: "inline-block" } }), `grace period${tl.grace_seconds !== null ? ` (${tl.grace_seconds}s)` : ""}`),
      el("span", { text: "marks: ready · SIGTERM · SIGKILL · exit; dashed line: a retry's start" }));
    return el("section", { id: "timeline", class: "timeline", "data-end": tl.end, "data-live": tl.live },
      el("div", { class: "axis" }, el("div", { class: "muted", text: "attempt · container" }), ticks),
      ...(lanes.length ? lanes : [el("p", { class: "empty", text: "No container has started yet." })]),
      legend);
  }

  function laneText(l) {
    const lines = [`${l.container} (attempt ${l.attempt}, ${l.kind}${l.is_primary ? ", primary" : ""})`,
      `started   ${rel(l.started_at)}`, `ready     ${rel(l.ready_at)}`];
    if (l.sigterm_at !== null) lines.push(`SIGTERM   ${rel(l.sigterm_at)}`);
    if (l.sigkill_at !== null) lines.push(`SIGKILL   ${rel(l.sigkill_at)} (grace period ended)`);
    lines.push(l.finished_at === null ? "still running" : `finished  ${rel(l.finished_at)}  exit ${l.exit_code ?? "?"}${l.reason ? ` (${l.reason})` : ""}`);
    if (l.message) lines.push(l.message);
    return lines.join("\n");
  }
  function showTip(target, text) {
    const box = target.getBoundingClientRect();
    tip.textContent = text; tip.hidden = false;
    tip.style.left = `${Math.min(box.left, window.innerWidth - 360)}px`;
    tip.style.top = `${box.bottom + 6}px`;
  }
  function hideTip() { tip.hidden = true; }

  // ------------------------------------------------ logs
  const logSection = el("section", { id: "logs" });
  const logPre = el("pre", { id: "log", tabindex: 0 });
  const hits = el("div", { class: "hits", id: "hits", hidden: true });
  const search = el("input", { id: "log-search", type: "search", placeholder: "search this log (Enter)", "aria-label": "search log" });
  const earlier = el("button", { id: "log-earlier", text: "Earlier lines", onclick: () => loadEarlier() });
  const follow = el("label", {}, el("input", { id: "log-follow", type: "checkbox", checked: true, onchange: (e) => { view.follow = e.target.checked; if (view.follow) jumpToEnd(); } }), " follow");
  const tabs = el("span", { id: "log-tabs" });
  const info = el("span", { id: "log-info", class: "muted" });
  logSection.append(el("h2", { text: "Logs" }), el("div", { class: "logbar" }, tabs, search, earlier, follow, info), hits, logPre);
  search.addEventListener("keydown", (e) => { if (e.key === "Enter") runSearch(); });
  search.addEventListener("input", () => { view.query = search.value; if (!view.query) hits.hidden = true; renderLog(); });

  function renderTabs() {
    const names = Object.keys(logs).sort();
    if (!view.selected && names.length) view.selected = names.includes(primaryName()) ? primaryName() : names[0];
    tabs.replaceChildren(...names.map((n) => el("button", {
      class: "logtab", role: "tab", "data-container": n, "aria-selected": n === view.selected ? "true" : "false", text: n,
      onclick: () => { view.selected = n; hits.hidden = true; renderTabs(); renderLog(); },
    })));
  }
  function primaryName() {
    const lane = view.detail && view.detail.timeline.lanes.find((l) => l.is_primary);
    return lane ? lane.container : null;
  }
  function renderLog() {
    const log = logs[view.selected];
    earlier.disabled = !log || log.start === 0;
    if (!log) { logPre.textContent = "(no log yet)"; info.textContent = ""; return; }
    if (!log.text && !log.size) { logPre.textContent = "(empty: this container wrote nothing)"; info.textContent = ""; return; }
    const atBottom = logPre.scrollHeight - logPre.scrollTop - logPre.clientHeight < 40;
    const q = view.query;
    if (!q) logPre.textContent = log.text;
    else {
      const parts = [];
      const lower = log.text.toLowerCase(); const needle = q.toLowerCase();
      let i = 0; let j;
      while ((j = lower.indexOf(needle, i)) >= 0 && parts.length < 20000) {
        parts.push(log.text.slice(i, j), el("mark", { text: log.text.slice(j, j + q.length) }));
        i = j + q.length;
      }
      parts.push(log.text.slice(i));
      logPre.replaceChildren(...parts);
    }
    logPre.dataset.start = log.start; logPre.dataset.end = log.end;
    info.textContent = `bytes ${log.start.toLocaleString()}–${log.end.toLocaleString()} of ${log.size.toLocaleString()}`;
    if (view.follow && atBottom) logPre.scrollTop = logPre.scrollHeight;
  }
  function addPage(p) {
    const log = logs[p.container];
    if (!log || p.start !== log.end) logs[p.container] = { start: p.start, end: p.end, size: p.size, text: p.text };
    else {
      log.text += p.text; log.end = p.end; log.size = Math.max(p.size, p.end);
      if (log.text.length > MAX_LOG_CHARS) { // keep the tail; "Earlier lines" pages back
        const cut = log.text.indexOf("\n", log.text.length - MAX_LOG_CHARS) + 1;
        log.start += new TextEncoder().encode(log.text.slice(0, cut)).length;
        log.text = log.text.slice(cut);
      }
    }
  }
  async function loadEarlier() {
    const log = logs[view.selected];
    if (!log || log.start === 0) return;
    const p = await api(`/api/runs/${encodeURIComponent(runId)}/logs/${encodeURIComponent(view.selected)}`, { before: log.start });
    log.text = p.text + log.text; log.start = p.start;
    renderLog();
    logPre.scrollTop = 0;
  }
  async function jumpTo(offset) {
    view.follow = false; $("#log-follow").checked = false;
    const p = await api(`/api/runs/${encodeURIComponent(runId)}/logs/${encodeURIComponent(view.selected)}`, { after: offset });
    logs[view.selected] = { start: p.start, end: p.end, size: p.size, text: p.text, detached: true };
    renderLog(); logPre.scrollTop = 0;
  }
  async function jumpToEnd() {
    const p = await api(`/api/runs/${encodeURIComponent(runId)}/logs/${encodeURIComponent(view.selected)}`, {});
    logs[view.selected] = { start: p.start, end: p.end, size: p.size, text: p.text };
    renderLog(); logPre.scrollTop = logPre.scrollHeight;
  }
  async function runSearch() {
    view.query = search.value;
    if (!view.query || !view.selected) { hits.hidden = true; return; }
    const res = await api(`/api/runs/${encodeURIComponent(runId)}/logs/${encodeURIComponent(view.selected)}/search`, { q: view.query });
    hits.replaceChildren(
      el("div", { class: "muted", text: `${res.matches.length}${res.truncated ? "+" : ""} matching line(s) in the whole log` }),
      ...res.matches.map((m) => el("button", { "data-offset": m.offset, onclick: () => jumpTo(m.offset), text: `${m.line}: ${m.text}` })));
    hits.hidden = false;
    renderLog();
  }

  // ------------------------------------------------ the rest of the page
  const parts = { header: el("section"), timeline: el("section"), error: el("section"), events: el("section"), pod: el("section") };
  function render(d) {
    view.detail = d;
    document.title = `${d.run.phase} ${d.run.task} – podtask`;
    parts.header.replaceWith(parts.header = header(d));
    parts.timeline.replaceWith(parts.timeline = el("section", {}, el("h2", { text: "Timeline" }), timeline(d)));
    const err = d.error;
    parts.error.replaceWith(parts.error = err ? el("section", { id: "error" },
      el("h2", { text: "Error" }),
      el("p", { class: "error-msg", id: "error-message", text: `${err.type || "Error"}: ${err.message || ""}` }),
      err.traceback ? el("pre", { id: "traceback", text: err.traceback }) : null) : el("section"));
    parts.events.replaceWith(parts.events = el("section", { id: "events" }, el("h2", { text: "Events" }),
      el("table", {}, el("thead", {}, el("tr", {}, ...["Time", "Event", "Container", "Detail"].map((h) => el("th", { text: h })))),
        el("tbody", {}, ...d.events.map((e) => el("tr", { "data-event": e.event },
          el("td", { class: "mono", text: rel(e.time - d.run.created_at) }), el("td", { text: e.event }),
          el("td", { text: e.container || "" }),
          el("td", { class: "mono", text: Object.entries(e).filter(([k, v]) => !["time", "event", "container"].includes(k) && v !== null && v !== "" && !(Array.isArray(v) && !v.length)).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ") })))))));
    parts.pod.replaceWith(parts.pod = el("section", { id: "pod" }, el("h2", { text: "Pod (as created)" }),
      d.pod_yaml ? el("pre", { id: "pod-yaml", text: d.pod_yaml }) : el("p", { class: "muted", text: "no pod was created" })));
  }

  (async () => {
    let d;
    try { d = await api(`/api/runs/${encodeURIComponent(runId)}`); } catch (e) {
      $("#main").replaceChildren(el("p", { class: "error-msg", text: String(e.message) }), el("a", { href: url("/"), text: "All runs" }));
      return;
    }
    runId = d.run.run_id;
    $("#main").replaceChildren(el("p", {}, el("a", { href: url("/"), text: "← all runs" })), parts.header, parts.error, parts.timeline, logSection, parts.events, parts.pod);
    render(d);
    await Promise.all(Object.keys(d.logs).map(async (c) => {
      addPage(await api(`/api/runs/${encodeURIComponent(runId)}/logs/${encodeURIComponent(c)}`, {}));
    }));
    renderTabs(); renderLog();
    const offsets = () => Object.fromEntries(Object.entries(logs).filter(([, l]) => !l.detached).map(([c, l]) => [`log.${c}`, l.end]));
    stream(`/api/stream/run/${encodeURIComponent(runId)}`, offsets, {
      run: (detail) => render(detail),
      log: (p) => {
        const log = logs[p.container];
        if (log && log.detached) { log.size = p.size; return; } // the user is reading a search hit
        addPage(p); renderTabs(); if (p.container === view.selected) renderLog();
      },
    });
    // Bars of containers still running grow with the clock: a redraw, not a request.
    setInterval(() => {
      if (view.detail && !view.detail.run.terminal && !parts.timeline.contains(document.activeElement)) {
        parts.timeline.replaceWith(parts.timeline = el("section", {}, el("h2", { text: "Timeline" }), timeline(view.detail)));
        const dur = $("#duration");
        if (dur) dur.textContent = `${secs(Date.now() / 1000 - view.detail.run.created_at)} so far`;
      }
    }, 1000);
  })();
}

function niceStep(raw) {
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-6)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function route() {
  const m = location.pathname.match(/^\/run\/([^/]+)$/);
  if (m) showRun(decodeURIComponent(m[1]));
  else showList();
}
route();
