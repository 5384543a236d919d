// Sentral operator and agent console. The server sends whole, translated states over
// Socket.IO (namespace /console); this script only places them. Every value goes into the
// page through textContent (never innerHTML), so caller names and directory data cannot
// inject markup. Keyboard-first: / or F2 search, arrows move, Enter opens the transfer
// choices, t blind transfer, k consult, m message, p park, Esc back, F4 answer, F6 hold,
// F8 hang up, F9 take back a call this operator moved, Alt+O pause / resume the call's
// recording (docs/console.md). Written items (the "Skriftlig" panel): Alt+S the list (arrows,
// Enter), Alt+A take, Alt+X decline, Alt+R reply, Alt+T template, Ctrl+Enter send, Alt+V
// transfer, Alt+L close with a result code. The search also
// lists queues and operators as transfer targets (kinds "queue" and "user").
(function () {
  "use strict";
  const T = JSON.parse(document.getElementById("console-texts").textContent);
  const bound = document.body.dataset.bound === "yes";
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  let state = null;
  let socket = null;
  let hits = [];
  let selected = -1;
  let chosen = null;          // {hit, number, label, kind}
  let wrapTimer = null;

  const { el, clear } = window.SentralPage;
  function show(node, on) { if (node) node.hidden = !on; }
  const say = window.SentralPage.messages("console-message");

  // -- commands ------------------------------------------------------------------------
  function command(name, args) {
    if (!socket) return;
    socket.emit("command", Object.assign({ name: name }, args || {}), (reply) => {
      if (reply && !reply.ok) say(reply.message || T.refused, "error");
    });
  }
  function campOnChosen(id) {         // "camp on if busy", asked with this transfer only
    const box = $(id);
    const on = !!(box && box.checked);
    if (box) box.checked = false;
    return on;
  }


  // -- rendering -------------------------------------------------------------------------
  function renderAgent(a) {
    $("agent-state").textContent = a.state_label;
    $("agent-state").dataset.state = a.state;
    $("agent-reason").textContent = a.reason_label || "";
    const list = $("queue-list");
    if (!list.dataset.built) {
      clear(list);
      for (const q of a.queues) {
        const label = el("label");
        const box = el("input", null, { type: "checkbox", value: q.id, "data-testid": "queue-" + q.id, id: "queue-" + q.id });
        box.checked = q.chosen;
        label.appendChild(box);
        label.appendChild(document.createTextNode(" " + q.name + " – " + q.tenant_name));
        list.appendChild(label);
      }
      list.dataset.built = "1";
    }
    const select = $("pause-reason");
    if (!select.dataset.built && state) {
      clear(select);
      for (const r of state.pause_reasons) select.appendChild(el("option", r.label, { value: r.id }));
      select.dataset.built = "1";
    }
    const codes = $("result-code");
    if (!codes.dataset.built && state) {
      clear(codes);
      codes.appendChild(el("option", "–", { value: "" }));
      for (const r of state.result_codes) codes.appendChild(el("option", r.label, { value: r.id }));
      codes.dataset.built = "1";
    }
    renderWrapup(a);
  }

  // A wrap-up that ends well before its countdown without this console asking was ended
  // by someone else (a supervisor's forced end): say so.
  let wrapEnds = 0;
  let endedHere = false;
  function renderWrapup(a) {
    clearInterval(wrapTimer);
    const inWrap = a.state === "wrap_up" && !!a.wrapup;
    show($("wrapup-panel"), inWrap);
    if (inWrap) {
      wrapEnds = Date.now() + a.wrapup.left * 1000;
      endedHere = false;
      const tick = () => {
        $("wrapup-left").textContent = String(Math.max(0, Math.round((wrapEnds - Date.now()) / 1000)));
        $("wrapup-left-unit").textContent = T.seconds_left;
      };
      tick();
      wrapTimer = setInterval(tick, 250);
      show($("wrapup-forced"), false);
    } else if (wrapEnds) {
      show($("wrapup-forced"), !endedHere && wrapEnds - Date.now() > 1500);
      wrapEnds = 0;
    }
  }

  function renderCall(c) {
    show($("no-call"), !c);
    show($("call-details"), !!c);
    show($("recall-banner"), !!(c && c.recall));
    renderTakeBack(c);
    if (!c) { show($("consult-controls"), false); show($("campon-row"), false); return; }
    $("recall-banner").textContent = c.recall ? T.recall + ": " + c.recall_label : "";
    // a busy target: the operator, talking to the caller again, may camp on it (the same
    // transfer once more, with camp_on: the engine tries it again until its camp-on time ends)
    const campOn = c.recall_reason === "busy" && c.own && c.state === "connected" && !c.consulting
      && (c.target_kind === "user" || c.target_kind === "number") && !!c.target;
    show($("campon-row"), campOn);
    if (campOn) {
      $("btn-campon").textContent = T.camp_on_button.replace("%(name)s", c.target_name || c.target);
      $("btn-campon").dataset.target = c.target;
      $("btn-campon").dataset.kind = c.target_kind;
      $("btn-campon").dataset.label = c.target_name || c.target;
    }
    $("call-greeting").textContent = c.greeting ? T.greeting + ": «" + c.greeting + "»" : "";
    $("call-tenant").textContent = c.tenant_name;
    $("call-queue").textContent = c.queue_name;
    $("call-number").textContent = c.caller_display || c.caller_number;
    $("call-name").textContent = c.caller_name;
    $("call-waited").textContent = c.waited;
    $("call-state").textContent = c.held ? T.held : c.state_label;
    $("call-talking").textContent = c.talking_to_label || "";
    renderRecording(c);
    show($("consult-controls"), c.consulting);
    if ($("call-details").dataset.call !== c.id) {
      $("call-details").dataset.call = c.id;
      loadContacts();
    }
  }

  // a recorded call: "Opptak", or "Opptak pauset" while the operator masks it (the switch
  // writes silence); the button (and Alt+O) toggles it
  function renderRecording(c) {
    const on = !!c.recording;
    show($("recording-row"), on);
    if (!on) return;
    $("recording-label").textContent = c.recording_label;
    $("recording-label").dataset.state = c.recording_masked ? "paused" : "on";
    $("btn-recording").textContent = (c.recording_masked ? T.recording_resume : T.recording_pause) + " (Alt+O)";
  }
  function toggleRecording() {
    // no recorded call: asked all the same, so the engine's refusal (no recording) is shown
    const masked = !!(state && state.call && state.call.recording && state.call.recording_masked);
    command(masked ? "recording_resume" : "recording_pause");
  }

  // a call this operator transferred (the target rings), parked or camped on a busy
  // target: they may take it back (F9), it then rings on their phone alone
  function renderTakeBack(c) {
    const on = !!(c && c.take_back);
    show($("takeback-row"), on);
    if (!on) return;
    const who = c.target_name || c.target;
    const text = c.state === "parked" ? T.moved_parked
      : c.state === "camped" ? T.moved_camped.replace("%(name)s", who)
      : T.moved_transferring.replace("%(name)s", who);
    $("moved-label").textContent = text;
    $("btn-takeback").dataset.call = c.id;
  }
  function takeBack() {
    if (state && state.call && state.call.take_back) command("recall", { interaction: state.call.id });
  }

  function loadContacts() {
    const list = $("call-contacts");
    clear(list);
    fetch("/console/api/contacts", { credentials: "same-origin" }).then((r) => r.json()).then((data) => {
      clear(list);
      if (!data.contacts || !data.contacts.length) { list.appendChild(el("li", T.none)); return; }
      for (const x of data.contacts) list.appendChild(el("li", x.at + " · " + x.tenant_name + " · " + x.queue + " · " + x.outcome));
    }).catch(() => {});
  }

  function renderParked(calls) {
    const list = $("parked-list");
    clear(list);
    if (!calls.length) { list.appendChild(el("li", T.parked_none)); return; }
    for (const p of calls) {
      const li = el("li", p.tenant_name + " · " + (p.caller_display || "") + " " + (p.caller_name || "") + " · " + p.waited + " ", { "data-testid": "parked-" + p.id });
      const btn = el("button", T.pickup, { type: "button", "data-testid": "pickup-" + p.id });
      btn.addEventListener("click", () => command("pickup", { interaction: p.id }));
      li.appendChild(btn);
      list.appendChild(li);
    }
  }

  function renderCounts(n) {
    $("count-answered").textContent = n.answered;
    $("count-abandoned").textContent = n.abandoned;
    $("count-sl").textContent = n.service_level;
    $("count-waiting").textContent = n.waiting;
    $("count-mine").textContent = n.mine;
  }

  function render(s) {
    state = s;
    renderAgent(s.agent);
    renderCall(s.call);
    renderParked(s.parked);
    renderCounts(s.counts);
    if (written) renderWritten(s.written || []);
  }

  // -- written items ("Skriftlig") -----------------------------------------------------------
  const written = !!$("written-panel");
  let items = [];
  let itemSel = null;           // the chosen item's id
  let itemTimer = null;
  let shownReplies = -1;         // the chosen item's reply count when its messages were loaded
  function itemOf(id) { return items.find((x) => x.id === id) || null; }
  function renderWritten(list) {
    items = list;
    if (itemSel && !itemOf(itemSel)) { itemSel = null; }
    if (!itemSel && items.length) itemSel = items[0].id;
    const ul = $("written-list");
    clear(ul);
    show($("written-none"), !items.length);
    for (const it of items) {
      const li = el("li", null, { role: "option", "data-testid": "item-" + it.id, id: "item-row-" + it.id,
                                  "aria-selected": it.id === itemSel ? "true" : "false", "data-state": it.state });
      li.appendChild(el("strong", it.kind_label + " · " + it.state_label));
      li.appendChild(el("span", " · " + (it.sender_name || it.sender_display)));
      if (it.subject) li.appendChild(el("span", " · " + it.subject));
      li.appendChild(el("span", " · " + it.waited, { class: "waited" }));
      if (it.state === "offered") {
        li.appendChild(el("span", "", { class: "left", "data-testid": "item-left-" + it.id, "data-ends": String(Date.now() + (it.left || 0) * 1000) }));
        const take = el("button", T.take, { type: "button", "data-testid": "item-take-" + it.id });
        take.addEventListener("click", (e) => { e.stopPropagation(); command("item_accept", { item: it.id }); });
        const no = el("button", T.decline, { type: "button", "data-testid": "item-decline-" + it.id });
        no.addEventListener("click", (e) => { e.stopPropagation(); command("item_decline", { item: it.id }); });
        li.appendChild(take); li.appendChild(no);
      }
      li.addEventListener("click", () => selectItem(it.id));
      ul.appendChild(li);
    }
    tickLeft();
    clearInterval(itemTimer);
    if (items.some((x) => x.state === "offered")) itemTimer = setInterval(tickLeft, 1000);
    renderItem();
  }
  function tickLeft() {
    for (const span of document.querySelectorAll("#written-list .left")) {
      span.textContent = " · " + T.left.replace("%(s)s", String(Math.max(0, Math.round((Number(span.dataset.ends) - Date.now()) / 1000)))) + " ";
    }
  }
  function selectItem(id) {
    itemSel = id;
    for (const li of $("written-list").children) li.setAttribute("aria-selected", li.id === "item-row-" + id ? "true" : "false");
    shownReplies = -1;
    renderItem();
  }
  function renderItem() {
    const it = itemSel ? itemOf(itemSel) : null;
    show($("written-item"), !!it);
    if (!it) { delete $("written-item").dataset.item; return; }
    const changed = $("written-item").dataset.item !== it.id;
    $("written-item").dataset.item = it.id;
    $("written-item").dataset.state = it.state;
    $("item-subject").textContent = it.subject || it.kind_label;
    $("item-tenant").textContent = it.tenant_name;
    $("item-queue").textContent = it.queue_name;
    $("item-sender").textContent = [it.sender_name, it.sender_display].filter(Boolean).join(" · ");
    $("item-case").textContent = it.case;
    show($("item-offer"), it.state === "offered");
    show($("item-work"), it.state === "open");
    if (changed) {
      const tpl = $("reply-template");
      clear(tpl);
      tpl.appendChild(el("option", T.no_template, { value: "" }));
      for (const t of it.templates) tpl.appendChild(el("option", t.name, { value: t.id }));
      const q = $("item-transfer-queue");
      clear(q);
      q.appendChild(el("option", "–", { value: "" }));
      for (const t of it.targets) q.appendChild(el("option", t.name + " – " + t.tenant_name, { value: t.id }));
      const codes = $("item-result");
      clear(codes);
      codes.appendChild(el("option", "–", { value: "" }));
      for (const r of (state ? state.result_codes : [])) codes.appendChild(el("option", r.label, { value: r.id }));
      $("reply-text").value = "";
      $("reply-status").textContent = "";
      segments();
    }
    if (changed || shownReplies !== it.replies + it.messages) { shownReplies = it.replies + it.messages; loadMessages(it.id); }
  }
  function loadMessages(id) {
    fetch("/console/api/items/" + encodeURIComponent(id), { credentials: "same-origin" }).then((r) => r.json()).then((data) => {
      if (itemSel !== id) return;
      const ol = $("item-messages");
      clear(ol);
      if (!data.ok) { ol.appendChild(el("li", data.message || T.refused)); return; }
      if (!data.messages.length) ol.appendChild(el("li", T.no_messages));
      for (const m of data.messages) {
        const li = el("li", null, { class: "msg " + m.direction, "data-testid": "message-" + m.id });
        const head = el("div", m.direction_label + " · " + m.date + (m.status_label ? " · " + m.status_label : ""), { class: "msg-head" });
        li.appendChild(head);
        if (m.direction === "in") li.appendChild(el("div", T.from + ": " + [m.sender_name, m.sender].filter(Boolean).join(" ")));
        else if (m.recipients.length) li.appendChild(el("div", T.to + ": " + m.recipients.join(", ")));
        if (m.subject) li.appendChild(el("div", m.subject, { class: "msg-subject" }));
        li.appendChild(el("pre", m.text, { class: "msg-text" }));
        if (m.attachments.length) {
          const ul = el("ul", null, { class: "attachments" });
          for (const a of m.attachments) {
            const row = el("li");
            if (a.url) row.appendChild(el("a", a.name, { href: a.url, download: a.name }));
            else row.appendChild(el("span", a.name));
            row.appendChild(el("span", " (" + a.size + ")"));
            ul.appendChild(row);
          }
          li.appendChild(ul);
        }
        ol.appendChild(li);
      }
      $("item-attachments-note").textContent = data.attachments_note || "";
      show($("item-attachments-note"), !!data.attachments_note);
    }).catch(() => {});
  }
  function chosenItem() { return itemSel ? itemOf(itemSel) : null; }
  function firstOffered() { const sel = chosenItem(); return sel && sel.state === "offered" ? sel : items.find((x) => x.state === "offered"); }
  let segTimer = null;
  let segSeq = 0;
  function segments() {
    const it = chosenItem();
    const on = !!(it && it.kind === "sms");
    show($("reply-segments"), on);
    if (!on) return;
    const seq = ++segSeq;
    fetch("/console/api/items/segments", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ text: $("reply-text").value }),
    }).then((r) => r.json()).then((d) => { if (seq === segSeq) { $("reply-segments").textContent = d.label || ""; $("reply-segments").dataset.segments = String(d.segments); } }).catch(() => {});
  }
  function sendReply(e) {
    if (e) e.preventDefault();
    const it = chosenItem();
    if (!it || it.state !== "open") return;
    const text = $("reply-text").value;
    fetch("/console/api/items/" + encodeURIComponent(it.id) + "/reply", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ text: text }),
    }).then((r) => r.json().then((data) => ({ ok: r.ok && data.ok, data: data }))).then((res) => {
      $("reply-status").textContent = res.ok ? (res.data.info || T.reply_sent) : (res.data.message || T.reply_failed);
      $("reply-status").className = res.ok ? "ok" : "error";
      if (res.ok) { $("reply-text").value = ""; $("reply-template").value = ""; segments(); loadMessages(it.id); }
    }).catch(() => { $("reply-status").textContent = T.reply_failed; $("reply-status").className = "error"; });
  }
  function transferItem() {
    const it = chosenItem();
    if (!it) return;
    const q = $("item-transfer-queue").value;
    if (!q) { say(T.choose_target, "error"); $("item-transfer-queue").focus(); return; }
    command("item_transfer", { item: it.id, queue: q });
  }
  function closeItem() {
    const it = chosenItem();
    if (!it) return;
    const codes = $("item-result");
    if (!codes.value && codes.options.length > 1) { say(T.choose_result_code, "error"); codes.focus(); return; }
    command("item_close", { item: it.id, result: codes.value });
  }
  // Alt+letter by the key's position (e.code), as Alt+O: the character differs on a Mac
  function writtenKey(e) {
    if (!written || !e.altKey || e.ctrlKey || e.metaKey) {
      if (written && e.ctrlKey && e.key === "Enter" && e.target === $("reply-text")) { e.preventDefault(); sendReply(); return true; }
      return false;
    }
    const it = chosenItem();
    const open = !!(it && it.state === "open");
    switch (e.code) {
      case "KeyS": { const li = $("item-row-" + itemSel); ($("written-list")).focus(); if (li) li.scrollIntoView({ block: "nearest" }); break; }
      case "KeyA": { const o = firstOffered(); if (o) { selectItem(o.id); command("item_accept", { item: o.id }); } break; }
      case "KeyX": { const o = firstOffered(); if (o) command("item_decline", { item: o.id }); break; }
      case "KeyR": if (open) $("reply-text").focus(); break;
      case "KeyT": if (open) $("reply-template").focus(); break;
      case "KeyV": if (open) $("item-transfer-queue").focus(); break;
      case "KeyL": if (open) $("item-result").focus(); break;
      default: return false;
    }
    e.preventDefault();
    return true;
  }
  if (written) {
    $("written-list").addEventListener("keydown", (e) => {
      if (e.key !== "ArrowDown" && e.key !== "ArrowUp" && e.key !== "Enter") return;
      e.preventDefault();
      e.stopPropagation();
      if (!items.length) return;
      if (e.key === "Enter") { const it = chosenItem(); if (it && it.state === "open") $("reply-text").focus(); return; }
      const i = Math.max(0, items.findIndex((x) => x.id === itemSel));
      selectItem(items[(i + (e.key === "ArrowDown" ? 1 : -1) + items.length) % items.length].id);
    });
    // A template goes into the reply on Enter in the list, or when chosen with the mouse (or a
    // finger) from the opened list. The arrow keys (and typing a name) only move the choice:
    // Chromium fires `change` on each ArrowDown in the closed list, and taking the template
    // there (which moves on to the reply) left every template but the first out of reach.
    let tplByPointer = false;
    function takeTemplate() {
      const it = chosenItem();
      const t = it && it.templates.find((x) => x.id === $("reply-template").value);
      if (!t) return;
      const box = $("reply-text");
      box.value = box.value.trim() ? box.value.replace(/\s*$/, "") + "\n\n" + t.text : t.text;
      box.focus();
      segments();
    }
    $("reply-template").addEventListener("pointerdown", () => { tplByPointer = true; });
    $("reply-template").addEventListener("keydown", (e) => {
      tplByPointer = false;
      if (e.key === "Enter") { e.preventDefault(); takeTemplate(); }
    });
    $("reply-template").addEventListener("change", () => { if (tplByPointer) { tplByPointer = false; takeTemplate(); } });
    $("reply-text").addEventListener("input", () => { clearTimeout(segTimer); segTimer = setTimeout(segments, 150); });
    $("reply-form").addEventListener("submit", sendReply);
    $("btn-item-accept").addEventListener("click", () => { const it = chosenItem(); if (it) command("item_accept", { item: it.id }); });
    $("btn-item-decline").addEventListener("click", () => { const it = chosenItem(); if (it) command("item_decline", { item: it.id }); });
    $("btn-item-transfer").addEventListener("click", transferItem);
    $("btn-item-close").addEventListener("click", closeItem);
  }

  // -- directory ---------------------------------------------------------------------------
  let searchSeq = 0;
  function search(q) {
    const seq = ++searchSeq;
    if (!q.trim()) { hits = []; renderHits(); return; }
    fetch("/console/api/directory?q=" + encodeURIComponent(q), { credentials: "same-origin" })
      .then((r) => r.json()).then((data) => {
        if (seq !== searchSeq) return;           // an older answer arriving late
        hits = data.hits || [];
        selected = hits.length ? 0 : -1;
        renderHits();
      }).catch(() => {});
  }

  function presenceText(p) {
    if (!p) return "";
    let text = p.label;
    if (p.reason) text += " (" + p.reason + ")";
    if (p.back_at) text += " · " + T.back_at + " " + p.back_at;
    return text;
  }

  function renderHits() {
    const list = $("results");
    clear(list);
    if (!hits.length && $("search").value.trim()) { list.appendChild(el("li", T.search_empty)); return; }
    hits.forEach((h, i) => {
      const li = el("li", null, { role: "option", "data-testid": "result-" + i, id: "result-" + i,
                                  "aria-selected": i === selected ? "true" : "false" });
      const head = el("div", null, { class: "hit-head" });
      head.appendChild(el("strong", h.name));
      if (h.kind === "queue" || h.kind === "user") head.appendChild(el("span", " · " + (h.kind === "queue" ? T.queue_target : T.user_target), { class: "target-kind" }));
      if (h.title && h.kind !== "queue") head.appendChild(el("span", " · " + h.title));
      head.appendChild(el("span", " · " + h.tenant_name));
      li.appendChild(head);
      const pres = el("div", presenceText(h.presence), { class: "presence " + (h.presence ? h.presence.state : ""), "data-testid": "presence-" + i });
      li.appendChild(pres);
      const nums = [];
      if (h.direct) nums.push(T.direct + " " + h.direct.display);
      if (h.mobile) nums.push(T.mobile + " " + h.mobile.display);
      if (nums.length) li.appendChild(el("div", nums.join(" · ")));
      if (h.unit) li.appendChild(el("div", T.unit + ": " + h.unit));
      if (h.services && h.services.length) li.appendChild(el("div", T.services + ": " + h.services.join(", ")));
      if (h.substitute) li.appendChild(el("div", T.substitute + ": " + h.substitute.name + (h.substitute.presence ? " (" + presenceText(h.substitute.presence) + ")" : ""), { "data-testid": "substitute-" + i }));
      if (h.notes) li.appendChild(el("div", T.notes + ": " + h.notes, { class: "notes", "data-testid": "notes-" + i }));
      li.addEventListener("click", () => { selected = i; renderHits(); openChoices(); });
      list.appendChild(li);
    });
    const current = $("result-" + selected);
    if (current) current.scrollIntoView({ block: "nearest" });
  }

  function numbersOf(h) {
    const out = [];
    if (h.kind === "queue" || h.kind === "user") {   // a transfer target of the deployment itself
      out.push({ number: h.target, kind: h.kind, label: T.transfer_here + ": " + h.name + " · " + h.tenant_name, who: h.name, key: "target" });
      return out;
    }
    if (h.direct) out.push({ number: h.direct.raw, label: T.direct + " " + h.direct.display, who: h.name, key: "direct" });
    if (h.mobile) out.push({ number: h.mobile.raw, label: T.mobile + " " + h.mobile.display, who: h.name, key: "mobile" });
    if (h.substitute) {
      const s = h.substitute;
      if (s.direct) out.push({ number: s.direct.raw, label: T.substitute + " " + s.name + ": " + s.direct.display, who: s.name, key: "substitute-direct" });
      if (s.mobile) out.push({ number: s.mobile.raw, label: T.substitute + " " + s.name + ": " + s.mobile.display, who: s.name, key: "substitute-mobile" });
    }
    return out;
  }

  function openChoices() {
    const h = hits[selected];
    if (!h) return;
    const numbers = numbersOf(h);
    chosen = { hit: h, pick: numbers[0] || null };
    $("choice-name").textContent = h.name;
    const absent = h.presence && !h.presence.available;
    $("absent-warning").textContent = absent ? T.absent_warning.replace("%(name)s", h.name) + " " + presenceText(h.presence) : "";
    show($("absent-warning"), absent);
    if (absent && h.substitute) {
      const sub = numbers.find((n) => n.key.startsWith("substitute"));
      if (sub) chosen.pick = sub;            // offer the substitute first
    }
    const list = $("choice-numbers");
    clear(list);
    numbers.forEach((n, i) => {
      const btn = el("button", n.label, { type: "button", "data-testid": "choice-" + n.key, "aria-pressed": n === chosen.pick ? "true" : "false" });
      btn.addEventListener("click", () => { chosen.pick = n; openChoicesRefresh(); });
      list.appendChild(el("li")).appendChild(btn);
    });
    show($("choice-consult"), h.kind !== "queue");     // an announced transfer goes to a person
    show($("choice-message"), h.kind !== "queue" && h.kind !== "user");
    show($("transfer-choices"), true);
    show($("message-form"), false);
    $("choice-blind").focus();
  }
  function openChoicesRefresh() {
    for (const b of $("choice-numbers").querySelectorAll("button")) {
      b.setAttribute("aria-pressed", chosen.pick && b.dataset.testid === "choice-" + chosen.pick.key ? "true" : "false");
    }
  }

  function transfer(kind) {
    if (!chosen || !chosen.pick) return;
    const targetKind = chosen.pick.kind || "number";
    if (kind === "consult" && targetKind === "queue") return;
    if (kind === "consult") command("consult_start", { target: chosen.pick.number, kind: targetKind, label: chosen.pick.who });
    else command("transfer", { target: chosen.pick.number, kind: targetKind, label: chosen.pick.who,
                               camp_on: targetKind !== "queue" && campOnChosen("choice-campon") });
    back();
  }

  function openMessage() {
    if (!chosen) return;
    if (!chosen.hit.email) { say(T.no_email, "error"); return; }
    $("message-to").textContent = chosen.hit.name;
    if (state && state.call && !$("message-caller").value) {
      $("message-caller").value = [state.call.caller_name, state.call.caller_display].filter(Boolean).join(" ");
    }
    show($("transfer-choices"), false);
    show($("message-form"), true);
    $("message-status").textContent = "";
    $("message-text").focus();
  }

  function sendMessage(ev) {
    ev.preventDefault();
    if (!chosen) return;
    const text = $("message-text").value;
    fetch("/console/api/message", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ tenant: chosen.hit.tenant, person: chosen.hit.id, text: text, caller: $("message-caller").value }),
    }).then((r) => r.json().then((data) => ({ ok: r.ok && data.ok, data: data }))).then((res) => {
      $("message-status").textContent = res.data.message || (res.ok ? T.sent : T.not_sent);
      $("message-status").className = res.ok ? "ok" : "error";
      if (res.ok) { $("message-text").value = ""; $("message-caller").value = ""; }
    }).catch(() => { $("message-status").textContent = T.not_sent; $("message-status").className = "error"; });
  }

  function back() {
    show($("transfer-choices"), false);
    show($("message-form"), false);
    chosen = null;
    $("search").focus();
  }

  // -- keyboard ----------------------------------------------------------------------------
  function typing(target) {
    return target && (target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target.type !== "checkbox") || target.tagName === "SELECT");
  }
  document.addEventListener("keydown", (e) => {
    if (bound && writtenKey(e)) return;
    const inSearch = e.target === $("search");
    if (e.key === "F2" || (e.key === "/" && !typing(e.target))) { e.preventDefault(); $("search").focus(); $("search").select(); return; }
    if (e.key === "Escape" && written && $("written-panel").contains(e.target)) { e.preventDefault(); $("written-list").focus(); return; }
    if (e.key === "Escape") { e.preventDefault(); back(); return; }
    if (bound && e.key === "F4") { e.preventDefault(); if ($("btn-answer")) command("answer"); return; }
    if (bound && e.key === "F6") { e.preventDefault(); command("hold", { on: !(state && state.call && state.call.held) }); return; }
    if (bound && e.key === "F8") { e.preventDefault(); command("hangup"); return; }
    if (bound && e.key === "F9") { e.preventDefault(); takeBack(); return; }
    // the key's position, not its character: Alt+O types "ø" on a Mac
    if (bound && e.altKey && !e.ctrlKey && !e.metaKey && e.code === "KeyO") { e.preventDefault(); toggleRecording(); return; }
    if (inSearch && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      e.preventDefault();
      if (!hits.length) return;
      selected = (selected + (e.key === "ArrowDown" ? 1 : -1) + hits.length) % hits.length;
      renderHits();
      return;
    }
    if (inSearch && e.key === "Enter") { e.preventDefault(); openChoices(); return; }
    if (typing(e.target) || e.ctrlKey || e.altKey || e.metaKey) return;
    const choices = !$("transfer-choices").hidden;
    if (e.key === "t" && choices) { e.preventDefault(); transfer("blind"); }
    else if (e.key === "k" && choices) { e.preventDefault(); transfer("consult"); }
    else if (e.key === "m" && choices && !$("choice-message").hidden) { e.preventDefault(); openMessage(); }
    else if (e.key === "p" && bound) { e.preventDefault(); command("park"); }
    else if (choices && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      e.preventDefault();
      const buttons = Array.from($("choice-numbers").querySelectorAll("button"));
      const i = buttons.indexOf(document.activeElement);
      const next = buttons[(i + (e.key === "ArrowDown" ? 1 : -1) + buttons.length) % buttons.length];
      if (next) { next.focus(); next.click(); }
    }
  });

  let searchTimer = null;
  $("search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => search($("search").value), 120);
  });
  $("choice-blind").addEventListener("click", () => transfer("blind"));
  $("choice-consult").addEventListener("click", () => transfer("consult"));
  $("choice-message").addEventListener("click", openMessage);
  $("choice-back").addEventListener("click", back);
  $("message-cancel").addEventListener("click", back);
  $("message-form").addEventListener("submit", sendMessage);

  // -- the agent's controls ----------------------------------------------------------------
  if (bound) {
    $("btn-login").addEventListener("click", () => {
      const queues = Array.from(document.querySelectorAll("#queue-list input:checked")).map((b) => b.value);
      if (!queues.length) { say(T.choose_queue, "error"); return; }
      command("login", { queues: queues });
    });
    $("btn-available").addEventListener("click", () => {
      if (state && state.agent.state === "logged_out") $("btn-login").click(); else command("resume");
    });
    $("btn-pause").addEventListener("click", () => command("pause", { reason: $("pause-reason").value }));
    $("btn-logout").addEventListener("click", () => command("logout"));
    $("btn-wrapup-end").addEventListener("click", () => {
      const codes = $("result-code");
      // the configured codes are required (the engine refuses none): ask here, not after a refusal
      if (!codes.value && codes.options.length > 1) { say(T.choose_result_code, "error"); codes.focus(); return; }
      endedHere = true; command("wrapup_end", { result: codes.value });
    });
    if ($("btn-answer")) $("btn-answer").addEventListener("click", () => command("answer"));   // only a phone that answers remotely
    $("btn-campon").addEventListener("click", () => {
      const b = $("btn-campon");
      command("transfer", { target: b.dataset.target, kind: b.dataset.kind, label: b.dataset.label, camp_on: true });
    });
    $("btn-takeback").addEventListener("click", takeBack);
    $("btn-hold").addEventListener("click", () => command("hold", { on: !(state && state.call && state.call.held) }));
    $("btn-hangup").addEventListener("click", () => command("hangup"));
    $("btn-park").addEventListener("click", () => command("park"));
    $("btn-recording").addEventListener("click", toggleRecording);
    for (const b of document.querySelectorAll("button.dtmf")) b.addEventListener("click", () => command("digits", { digits: b.dataset.digit }));
    const manual = (name) => {
      const target = $("transfer-target").value.replace(/[\s-]/g, "");
      if (target && name === "transfer") command(name, { target: target, kind: "number", label: target, camp_on: campOnChosen("transfer-campon") });
      else if (target) command(name, { target: target, kind: "number", label: target });
    };
    $("btn-transfer").addEventListener("click", () => manual("transfer"));
    $("btn-consult").addEventListener("click", () => manual("consult_start"));
    $("btn-consult-swap").addEventListener("click", () => command("consult_swap"));
    $("btn-consult-complete").addEventListener("click", () => command("consult_complete"));
    $("btn-consult-cancel").addEventListener("click", () => command("consult_cancel"));
    $("btn-consult-conference").addEventListener("click", () => command("consult_conference"));

    const status = $("status");
    socket = io("/console", { transports: ["websocket"] });
    socket.on("connect", () => { status.textContent = T.online; status.className = "status online"; });
    socket.on("disconnect", () => { status.textContent = T.offline; status.className = "status offline"; });
    socket.on("console", (s) => { render(s); });
    socket.on("parked", (p) => { if (state) { state.parked = p.calls; renderParked(p.calls); } });
    socket.on("refused", (r) => say(r.message, "error"));
    socket.on("notice", (n) => say(n.label, "info"));
  } else {
    $("status").hidden = true;
  }
})();
