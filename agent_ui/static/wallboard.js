// Sentral wallboard: receives snapshots over Socket.IO (namespace /wallboard) and draws
// them; every text goes through textContent (never innerHTML), so names cannot inject markup.
(function () {
  "use strict";
  const STATE_NAMES = { available: "ledig", offered: "ringer", on_call: "i samtale", wrap_up: "etterarbeid",
                        paused: "pause", logged_out: "avlogget" };
  const STATE_COLOURS = { available: "#69db7c", offered: "#ffd43b", on_call: "#74c0fc", wrap_up: "#b197fc",
                          paused: "#ffa94d", logged_out: "#868e96" };
  let history = [];
  const HH_MM = { hour: "2-digit", minute: "2-digit" };
  let waitingChart = null;
  let agentsChart = null;

  function cell(row, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    row.appendChild(td);
  }
  function seconds(s) {
    s = Math.round(s || 0);
    return s >= 60 ? Math.floor(s / 60) + " min " + (s % 60) + " s" : s + " s";
  }
  // a written item's wait: hours and minutes (days past a day), Norwegian style
  function age(s) {
    const m = Math.floor((s || 0) / 60), h = Math.floor(m / 60), d = Math.floor(h / 24);
    if (d) return d + " d " + (h % 24) + " t";
    if (h) return h + " t " + String(m % 60).padStart(2, "0") + " min";
    return m + " min";
  }
  const CHANNELS = { email: "e-post", sms: "SMS", task: "oppgave" };
  function percent(v) { return v === null || v === undefined ? "–" : Math.round(v * 100) + " %"; }

  function charts() {
    if (!window.Chart || waitingChart) return;
    waitingChart = new Chart(document.getElementById("waiting-chart"), {
      type: "line",
      data: { labels: [], datasets: [{ label: "venter", data: [], borderColor: "#74c0fc", tension: 0.2, pointRadius: 0 }] },
      options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
                 plugins: { legend: { display: false } } },
    });
    agentsChart = new Chart(document.getElementById("agents-chart"), {
      type: "doughnut",
      data: { labels: [], datasets: [{ data: [], backgroundColor: [] }] },
      options: { animation: false, maintainAspectRatio: false, plugins: { legend: { position: "right" } } },
    });
  }

  function render(snap) {
    charts();
    document.getElementById("clock").textContent = new Date(snap.at).toLocaleTimeString("nb-NO");
    const qbody = document.querySelector("#queues tbody");
    qbody.replaceChildren();
    let longest = 0, available = 0, answered = 0, inTarget = 0, withSl = 0;
    for (const q of snap.queues) {
      const tr = document.createElement("tr");
      if (q.waiting > 0 && q.available === 0 && q.logged_in === 0) tr.className = "alarm";
      cell(tr, q.name); cell(tr, q.tenant); cell(tr, q.waiting, "num"); cell(tr, q.ringing, "num");
      cell(tr, seconds(q.longest_wait), "num"); cell(tr, q.available, "num"); cell(tr, q.logged_in, "num");
      cell(tr, q.answered, "num"); cell(tr, q.abandoned, "num"); cell(tr, percent(q.service_level), "num");
      cell(tr, seconds(q.average_handle_time), "num");
      qbody.appendChild(tr);
      longest = Math.max(longest, q.longest_wait); available += q.available;
      if (q.service_level !== null && q.service_level !== undefined) {
        const n = q.answered + q.abandoned; inTarget += q.service_level * n; withSl += n;
      }
    }
    const wbody = document.querySelector("#written tbody");
    if (wbody) {
      wbody.replaceChildren();
      for (const w of snap.written || []) {
        const tr = document.createElement("tr");
        tr.dataset.queue = w.queue;
        cell(tr, w.name); cell(tr, w.tenant); cell(tr, CHANNELS[w.channel] || w.channel);
        cell(tr, w.waiting, "num"); cell(tr, w.waiting ? age(w.oldest_wait) : "–", "num");
        wbody.appendChild(tr);
      }
      document.getElementById("written").hidden = !(snap.written || []).length;
    }
    const tbody = document.querySelector("#today tbody");
    tbody.replaceChildren();
    for (const t of snap.today || []) {      // today per agency, from the journal
      const tr = document.createElement("tr");
      tr.dataset.tenant = t.tenant;
      cell(tr, t.name); cell(tr, t.calls, "num"); cell(tr, t.answered, "num");
      cell(tr, percent(t.service_level), "num"); cell(tr, t.abandoned, "num"); cell(tr, t.after_hours, "num");
      tbody.appendChild(tr);
    }
    document.getElementById("total-waiting").textContent = snap.waiting;
    document.getElementById("total-longest").textContent = seconds(longest);
    document.getElementById("total-available").textContent = snap.agent_states.available || 0;
    document.getElementById("total-sl").textContent = withSl ? percent(inTarget / withSl) : "–";
    const abody = document.querySelector("#agents tbody");
    abody.replaceChildren();
    for (const a of snap.agents) {
      const tr = document.createElement("tr");
      cell(tr, a.name); cell(tr, STATE_NAMES[a.state] || a.state, "state-" + a.state); cell(tr, a.reason || "");
      cell(tr, a.calls, "num");
      abody.appendChild(tr);
    }
    if (snap.history) history = snap.history.map(h => [new Date(h[0]), h[1]]);   // on (re)connect
    history.push([new Date(snap.at), snap.waiting]);
    while (history.length && history[0][0] < new Date(Date.parse(snap.at) - 600000)) history.shift();
    if (waitingChart) {
      waitingChart.data.labels = history.map(h => h[0].toLocaleTimeString("nb-NO", HH_MM));
      waitingChart.data.datasets[0].data = history.map(h => h[1]);
      waitingChart.update();
      document.body.dataset.axisLabel = waitingChart.data.labels[waitingChart.data.labels.length - 1] || "";
      const states = Object.keys(snap.agent_states);
      agentsChart.data.labels = states.map(s => STATE_NAMES[s] || s);
      agentsChart.data.datasets[0].data = states.map(s => snap.agent_states[s]);
      agentsChart.data.datasets[0].backgroundColor = states.map(s => STATE_COLOURS[s] || "#adb5bd");
      agentsChart.update();
    }
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
    document.body.dataset.historyPoints = String(history.length);
    if (!document.body.dataset.firstHistoryPoints) document.body.dataset.firstHistoryPoints = String(history.length);
  }

  function start() {
    const status = document.getElementById("status");
    const socket = io("/wallboard", { transports: ["websocket", "polling"] });
    socket.on("connect", () => {
      status.textContent = "tilkoblet"; status.className = "status online";
      document.body.classList.remove("stale");
    });
    socket.on("disconnect", () => {
      // the numbers on screen are no longer live: grey them out until the next push
      status.textContent = "frakoblet – tallene er ikke oppdatert"; status.className = "status offline";
      document.body.classList.add("stale");
    });
    socket.on("wallboard", render);
  }
  document.addEventListener("DOMContentLoaded", start);
})();
