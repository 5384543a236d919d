// Sentral supervisor page. The server sends whole, translated states over Socket.IO
// (namespace /supervisor); this script only places them, every value through textContent
// (never innerHTML). Keyboard-first: arrows choose an agent; l listen, w whisper, b barge,
// s stop listening, p pause (the chosen reason), a make available, o log out, e end
// wrap-up, c call back the newest abandoned call (docs/supervisor.md).
(function () {
  "use strict";
  const T = JSON.parse(document.getElementById("supervisor-texts").textContent);
  const phone = document.body.dataset.phone || "";
  const $ = (id) => document.getElementById(id);
  let socket = null;
  let agents = [];
  let selected = "";           // the chosen agent's id
  let abandoned = [];

  const { el, clear } = window.SentralPage;
  function td(text, attrs) { return el("td", text, attrs); }
  function fill(text, args) { return text.replace(/%\((\w+)\)s/g, (_, k) => (args[k] !== undefined ? args[k] : "")); }
  const say = window.SentralPage.messages("sup-message");
  function note(text, kind) {
    const list = $("notices");
    const item = el("li", (new Date()).toLocaleTimeString() + " " + text, { "data-testid": "notice" });
    if (kind) item.className = kind;
    list.insertBefore(item, list.firstChild);
    while (list.children.length > 20) list.removeChild(list.lastChild);
  }

  // -- actions -------------------------------------------------------------------------------
  function act(name, args) {
    if (!socket) return;
    socket.emit("action", Object.assign({ name: name }, args || {}), (reply) => {
      if (reply && reply.ok) { say(T.ok, "info"); }
      else { const m = (reply && reply.message) || T.refused; say(m, "error"); note(m, "error"); }
    });
  }
  function agentAction(name) {
    if (name === "stop") { act("stop"); return; }
    if (!selected) { say(T.choose_agent, "error"); return; }
    const args = { agent: selected };
    if (name === "pause") args.reason = $("pause-reason").value;
    act(name, args);
  }
  function callBack(item) {
    act("callback", { queue: item.queue, number: item.number, origin: item.interaction });
  }

  // -- rendering -----------------------------------------------------------------------------
  function renderQueues(rows) {
    const body = $("queues").tBodies[0];
    clear(body);
    for (const q of rows) {
      const tr = el("tr", null, { "data-testid": "queue-" + q.id, "data-alarm": q.alarm.join(" ") });
      if (q.alarm.length) tr.className = "alarm";
      tr.appendChild(td(q.name));
      tr.appendChild(td(q.tenant_name));
      for (const k of ["waiting", "longest_wait", "available", "logged_in", "answered", "abandoned", "service_level"]) {
        tr.appendChild(td(q[k], { class: "num", "data-testid": "queue-" + q.id + "-" + k }));
      }
      body.appendChild(tr);
    }
  }
  // written queues: the backlog, and each waiting item with a Close (spam) button
  function renderWritten(rows) {
    if (!$("written-queues")) return;
    const body = $("written-queues").tBodies[0];
    clear(body);
    const list = $("written-waiting");
    clear(list);
    let any = false;
    for (const q of rows) {
      const tr = el("tr", null, { "data-testid": "written-" + q.id });
      tr.appendChild(td(q.name));
      tr.appendChild(td(q.tenant_name));
      tr.appendChild(td(q.channel_label));
      for (const k of ["waiting", "oldest", "offered", "open", "answered", "service_level"]) {
        tr.appendChild(td(q[k], { class: "num", "data-testid": "written-" + q.id + "-" + k }));
      }
      body.appendChild(tr);
      for (const it of q.items) {
        any = true;
        const li = el("li", q.name + " · " + [it.sender_name, it.sender].filter(Boolean).join(" ") + " · " + (it.subject || "") + " · " + it.waited + " ",
                      { "data-testid": "waiting-" + it.id });
        const btn = el("button", T.close_item, { type: "button", "data-testid": "close-" + it.id });
        btn.addEventListener("click", () => {
          const result = $("item-result").value;
          if (!result && $("item-result").options.length > 1) { say(T.choose_result_code, "error"); $("item-result").focus(); return; }
          act("item_close", { item: it.id, result: result });
        });
        li.appendChild(btn);
        list.appendChild(li);
      }
    }
    if (!any) list.appendChild(el("li", T.no_waiting));
  }
  function renderAlarms(rows) {
    const list = $("alarms");
    clear(list);
    if (!rows.length) { list.appendChild(el("li", T.no_alarms, { class: "none", "data-testid": "no-alarms" })); return; }
    for (const a of rows) {
      list.appendChild(el("li", a.since + " · " + a.queue_name + " (" + a.tenant_name + "): " + a.kind_label + " " + a.value
        + " ≥ " + a.threshold, { "data-testid": "alarm-" + a.queue + "-" + a.kind }));
    }
  }
  function renderAgents(rows) {
    agents = rows;
    if (selected && !rows.some((a) => a.id === selected)) selected = "";
    const body = $("agents").tBodies[0];
    clear(body);
    for (const a of rows) {
      const tr = el("tr", null, { "data-testid": "agent-" + a.id, "data-agent": a.id, "data-state": a.state,
        "aria-selected": a.id === selected ? "true" : "false" });
      tr.appendChild(td(a.name + " (" + a.extension + ")"));
      const st = td(null);
      st.appendChild(el("span", a.state_label, { class: "state", "data-state": a.state, "data-testid": "agent-" + a.id + "-state" }));
      tr.appendChild(st);
      tr.appendChild(td(a.in_state, { class: "num" }));
      tr.appendChild(td(a.reason_label, { "data-testid": "agent-" + a.id + "-reason" }));
      let call = "", talk = "";
      if (a.call && a.call.other) call = a.call.label;
      else if (a.call) {
        call = a.call.caller + (a.call.caller_name ? " " + a.call.caller_name : "") + " · " + a.call.tenant_name
          + " · " + a.call.queue_name + (a.call.held ? " · " + T.held : "");
        talk = a.call.talk;
      }
      tr.appendChild(td(call, { "data-testid": "agent-" + a.id + "-call" }));
      tr.appendChild(td(talk, { class: "num" }));
      const by = a.monitored_by.map((m) => (m.phone === phone ? T.you : m.name) + ": " + m.mode_label).join(", ");
      tr.appendChild(td(by, { "data-testid": "agent-" + a.id + "-monitored" }));
      tr.addEventListener("click", () => choose(a.id));
      body.appendChild(tr);
    }
  }
  function renderMine(monitors) {
    const badge = $("my-monitor");
    if (!badge) return;
    const mine = monitors.find((m) => m.phone === phone);
    if (!mine) { badge.dataset.mode = ""; badge.dataset.agent = ""; badge.textContent = T.none; return; }
    const who = agents.find((a) => a.id === mine.agent);
    badge.dataset.mode = mine.mode;
    badge.dataset.agent = mine.agent;
    badge.textContent = fill(T.listening_to, { mode: mine.mode_label, agent: who ? who.name : mine.agent });
  }
  function renderLists(data) {
    abandoned = data.abandoned;
    const list = $("abandoned");
    clear(list);
    if (!abandoned.length) list.appendChild(el("li", T.no_abandoned, { "data-testid": "no-abandoned" }));
    abandoned.forEach((item) => {
      const li = el("li", null, { "data-testid": "abandoned-" + item.interaction });
      li.appendChild(el("span", item.at));
      li.appendChild(el("strong", item.caller, { "data-testid": "abandoned-" + item.interaction + "-number" }));
      li.appendChild(el("span", item.caller_name));
      li.appendChild(el("span", item.tenant_name + " · " + item.queue_name + " · " + item.waited));
      const btn = el("button", T.callback, { type: "button", "data-testid": "callback-" + item.interaction });
      btn.addEventListener("click", () => callBack(item));
      li.appendChild(btn);
      list.appendChild(li);
    });
    const body = $("audit").tBodies[0];
    clear(body);
    if (!data.audit.length) { const tr = el("tr"); tr.appendChild(td(T.no_audit, { colspan: "5" })); body.appendChild(tr); }
    data.audit.forEach((e, i) => {
      const tr = el("tr", null, { "data-testid": "audit-" + i, "data-action": e.action, "data-target": e.target });
      tr.appendChild(td(e.at, { title: e.day }));
      tr.appendChild(td(e.actor));
      tr.appendChild(td(e.what));
      tr.appendChild(td(e.whom));
      tr.appendChild(td(e.detail));
      body.appendChild(tr);
    });
  }
  function choose(id) {
    selected = id;
    for (const tr of $("agents").tBodies[0].rows) tr.setAttribute("aria-selected", tr.dataset.agent === id ? "true" : "false");
  }
  function move(step) {
    if (!agents.length) return;
    const at = agents.findIndex((a) => a.id === selected);
    const next = at < 0 ? 0 : Math.max(0, Math.min(agents.length - 1, at + step));
    choose(agents[next].id);
    const row = $("agents").querySelector("[data-agent='" + CSS.escape(agents[next].id) + "']");
    if (row) row.scrollIntoView({ block: "nearest" });
  }

  // -- wiring --------------------------------------------------------------------------------
  for (const btn of document.querySelectorAll("#agent-actions button[data-action]")) {
    btn.addEventListener("click", () => agentAction(btn.dataset.action));
  }
  const KEYS = { l: "listen", w: "whisper", b: "barge", s: "stop", p: "pause", a: "available", o: "logout", e: "wrapup_end" };
  document.addEventListener("keydown", (e) => {
    const typing = e.target && (e.target.tagName === "INPUT" || e.target.tagName === "TEXTAREA");
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") { move(e.key === "ArrowDown" ? 1 : -1); e.preventDefault(); return; }
    if (e.target && e.target.tagName === "SELECT") return;
    const name = KEYS[e.key];
    if (name && (phone || !["listen", "whisper", "barge", "stop"].includes(name))) { agentAction(name); e.preventDefault(); }
    else if (e.key === "c" && abandoned.length) { callBack(abandoned[0]); e.preventDefault(); }
  });

  socket = io("/supervisor", { transports: ["websocket"] });
  socket.on("connect", () => { const s = $("status"); s.textContent = T.online; s.className = "status online"; });
  socket.on("disconnect", () => { const s = $("status"); s.textContent = T.offline; s.className = "status offline"; });
  socket.on("supervisor", (state) => {
    $("clock").textContent = state.clock;
    renderQueues(state.queues);
    renderWritten(state.written || []);
    renderAlarms(state.alarms);
    renderAgents(state.agents);
    renderMine(state.monitors);
  });
  socket.on("lists", renderLists);
  socket.on("alarm", (a) => note(fill(T.alarm_raised, { kind: a.kind_label, queue: a.queue_name }), "error"));
  socket.on("notice", (n) => note(n.label, n.topic === "monitor_failed" ? "error" : ""));
  socket.on("refused", (r) => { say(r.message, "error"); note(r.message, "error"); });
})();
