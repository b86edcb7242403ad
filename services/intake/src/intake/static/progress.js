/*
 * The progress page: follows one request from the form to its live page.
 *
 * Reads the element #progress (data-request-id, data-progress-url, data-status-url,
 * data-redirect-url, data-allowed-origins). Live updates come over the gateway's WebSocket; when
 * the socket drops it reconnects with a capped, jittered backoff; when it cannot open at all
 * (blocked by a proxy, a refused token) the page polls the status URL, which answers the same JSON. One second after
 * completion it goes to the new showcase's page; on failure it shows what failed and a Retry
 * button. It navigates to (or posts to) a URL only when it is http(s) on this page's origin or
 * one of data-allowed-origins (space-separated): a `javascript:` or `data:` URL, or another
 * site, is never followed, whatever a message says. Vanilla JS, no build step.
 */
(function () {
  "use strict";

  var POLL_MS = 1000;
  var REDIRECT_DELAY_MS = 1000;
  var BACKOFF_BASE_MS = 500;
  var BACKOFF_CAP_MS = 10000;
  var FAILED_OPENS_BEFORE_POLLING = 2;
  var CLOSE_UNAUTHORIZED = 4401;

  /* `url` resolved, when it is http(s) on one of `origins`; otherwise null. */
  function allowedUrl(url, origins) {
    if (typeof url !== "string" || url === "") return null;
    var parsed;
    try {
      parsed = new URL(url, window.location.href);
    } catch (error) {
      return null;
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return null;
    if (parsed.username || parsed.password) return null;
    return origins.indexOf(parsed.origin) === -1 ? null : parsed.href;
  }

  function ProgressPage(root) {
    this.root = root;
    this.requestId = root.dataset.requestId;
    this.progressUrl = root.dataset.progressUrl;
    this.statusUrl = root.dataset.statusUrl;
    this.redirectUrl = root.dataset.redirectUrl;
    this.origins = (root.dataset.allowedOrigins || "").split(/\s+/).filter(Boolean);
    this.origins.push(window.location.origin);
    this.bar = root.querySelector("[role=progressbar]");
    this.fill = root.querySelector(".progress-fill");
    this.message = root.querySelector("[aria-live]");
    this.heading = document.querySelector("[data-heading-processing]");
    this.done = root.querySelector(".progress-done");
    // What the server rendered: a page opened after the outcome shows it and stays (the Back
    // button from the live page must not bounce there again).
    this.initialStatus = root.dataset.initialStatus || "queued";
    this.shown = Number(this.bar.getAttribute("aria-valuenow")) || 0;
    this.socket = null;
    this.attempts = 0;
    this.failedOpens = 0;
    this.polling = false;
    this.pollTimer = null;
    this.reconnectTimer = null;
    this.finished = false;
    this.retriedFailure = null;
    this.failure = this.buildFailurePanel();
    this.eta = this.buildEta();
  }

  /* True when the browser came here straight from submitting the form (the POST's 303), not by
     reloading, going Back or opening a link or bookmark. */
  function justSubmitted() {
    var entries = window.performance && performance.getEntriesByType
      ? performance.getEntriesByType("navigation") : [];
    if (entries.length && entries[0].type !== "navigate") return false;
    var from;
    try {
      from = new URL(document.referrer);
    } catch (error) {
      return false;
    }
    return from.origin === window.location.origin &&
      /^\/(?:showcase\/)?(?:showcases(?:\/new)?|studios\/[^/]+\/request)$/.test(from.pathname);
  }

  ProgressPage.prototype.start = function () {
    if (this.initialStatus === "completed") {
      // Finished before this page was shown: straight after the form (a fast roll-out) it goes
      // on to the showcase as it would have; reloaded, or come back to, it stays and shows the link.
      if (justSubmitted()) {
        this.complete(this.allowed(this.redirectUrl));
      } else {
        this.finished = true;
      }
      return;
    }
    if (this.progressUrl && "WebSocket" in window) {
      this.connect();
    } else {
      this.startPolling();
    }
  };

  /* --- rendering ------------------------------------------------------------------------ */

  ProgressPage.prototype.render = function (state) {
    if (!state || state.request_id !== this.requestId) return;
    if (state.status === "failed" && this.retriedFailure !== null &&
        state.updated_at === this.retriedFailure) {
      return; // the failure we just retried, before the retry has reached the gateway
    }
    // The gateway never lowers progress; a poll answer racing a socket message could.
    var value = Math.max(this.shown, Number(state.progress) || 0);
    if (state.status !== "completed") value = Math.min(value, 99);
    this.shown = value;
    this.bar.setAttribute("aria-valuenow", String(value));
    this.bar.setAttribute("aria-valuetext", value + "% — " + state.message);
    this.fill.style.width = value + "%";
    this.root.dataset.status = state.status;
    this.renderHeading(state.status);
    this.root.dataset.step = state.step;
    if (this.message.textContent !== state.message) this.message.textContent = state.message;
    this.renderEta(state);
    if (state.status === "failed") {
      this.showFailure(state);
    } else {
      this.failure.hidden = true;
    }
    if (state.status === "completed") {
      this.complete(this.allowed(state.redirect_url) || this.allowed(this.redirectUrl));
    }
  };

  ProgressPage.prototype.renderHeading = function (status) {
    if (!this.heading) return;
    var key = status === "completed" || status === "failed" ? status : "processing";
    var text = this.heading.getAttribute("data-heading-" + key);
    if (text && this.heading.textContent !== text) {
      this.heading.textContent = text;
      document.title = text;
    }
  };

  ProgressPage.prototype.allowed = function (url) {
    return allowedUrl(url, this.origins);
  };

  ProgressPage.prototype.renderEta = function (state) {
    var seconds = state.eta_seconds;
    if (state.status !== "processing" || seconds === null || seconds === undefined) {
      this.eta.hidden = true;
      return;
    }
    this.eta.hidden = false;
    this.eta.textContent =
      "About " + Math.max(1, Math.ceil(seconds)) + " s left.";
  };

  ProgressPage.prototype.complete = function (url) {
    if (this.finished) return;
    this.finished = true;
    this.stopAll();
    if (this.done && url) {
      var link = this.done.querySelector("a");
      link.href = url;
      link.textContent = url;
      this.done.hidden = false;
    }
    if (!url) {
      this.root.dataset.redirect = "refused"; // nowhere safe to go: the page stays, saying so
      return;
    }
    this.root.dataset.redirect = "scheduled"; // the link is on the page meanwhile
    window.setTimeout(function () {
      window.location.assign(url);
    }, REDIRECT_DELAY_MS);
  };

  /* --- failure and retry ---------------------------------------------------------------- */

  ProgressPage.prototype.buildFailurePanel = function () {
    var panel = this.root.querySelector(".progress-failure");
    if (panel) {
      // The server's panel posts a form (for pages without JavaScript); here the script
      // sends the retry itself and keeps following the request.
      // Until the script knows the failure (its first message), the form posts as it is.
      var self = this;
      var form = panel.querySelector("form");
      form.addEventListener("submit", function (event) {
        if (!self.failedState) return;
        event.preventDefault();
        self.retry();
      });
      return panel;
    }
    panel = document.createElement("div");
    panel.className = "progress-failure";
    panel.setAttribute("role", "alert");
    panel.hidden = true;
    panel.innerHTML =
      '<p class="progress-error"></p>' +
      '<ul class="progress-failed-machines" aria-label="Machines not updated"></ul>' +
      '<button type="button" class="progress-retry">Retry</button>' +
      '<p class="progress-retry-error" hidden></p>';
    this.root.appendChild(panel);
    panel.querySelector("button").addEventListener("click", this.retry.bind(this));
    return panel;
  };

  ProgressPage.prototype.buildEta = function () {
    var eta = this.root.querySelector(".progress-eta");
    if (eta) return eta;
    eta = document.createElement("p");
    eta.className = "progress-eta";
    eta.hidden = true;
    this.message.insertAdjacentElement("afterend", eta);
    return eta;
  };

  ProgressPage.prototype.showFailure = function (state) {
    this.failedState = state;
    this.failure.querySelector(".progress-error").textContent = state.error || "Something failed.";
    var list = this.failure.querySelector(".progress-failed-machines");
    list.textContent = "";
    (state.failed_machines || []).forEach(function (machine) {
      var item = document.createElement("li");
      item.textContent = machine;
      list.appendChild(item);
    });
    list.hidden = list.children.length === 0;
    var button = this.failure.querySelector("button");
    button.hidden = !this.allowed(state.retry_url);
    button.disabled = false;
    this.failure.hidden = false;
    this.stopPolling(); // nothing changes until someone retries
  };

  ProgressPage.prototype.retry = function () {
    var self = this;
    var button = this.failure.querySelector("button");
    var problem = this.failure.querySelector(".progress-retry-error");
    var retryUrl = this.failedState && this.allowed(this.failedState.retry_url);
    if (!retryUrl) return;
    button.disabled = true;
    problem.hidden = true;
    // Same origin: the browser adds the HTTP Basic credentials it already holds for intake.
    fetch(retryUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (answer) {
        self.follow(answer);
      })
      .catch(function (error) {
        button.disabled = false;
        problem.textContent = "The retry could not be sent (" + error.message + "). Try again.";
        problem.hidden = false;
      });
  };

  /* Follow the request again with the fresh token and status URL of the retry's answer. */
  ProgressPage.prototype.follow = function (answer) {
    this.retriedFailure = this.failedState ? this.failedState.updated_at || null : null;
    if (answer.progress && answer.progress.ws_url) this.progressUrl = answer.progress.ws_url;
    if (answer.status_url) this.statusUrl = answer.status_url;
    this.failure.hidden = true;
    this.failedState = null;
    this.render({
      request_id: this.requestId,
      status: "processing",
      progress: this.shown,
      step: "syncing",
      message: "Retrying…",
      eta_seconds: null,
    });
    this.stopAll();
    this.attempts = 0;
    this.failedOpens = 0;
    this.start();
  };

  /* --- the socket, with reconnects ------------------------------------------------------ */

  ProgressPage.prototype.connect = function () {
    var self = this;
    var opened = false;
    var socket;
    this.reconnectTimer = null;
    try {
      socket = new WebSocket(this.progressUrl);
    } catch (error) {
      this.socketFailed(false, 0);
      return;
    }
    this.socket = socket;
    socket.onopen = function () {
      opened = true;
      self.attempts = 0;
      self.failedOpens = 0;
      self.stopPolling(); // the socket sends the current state first: nothing is missed
    };
    socket.onmessage = function (event) {
      try {
        self.render(JSON.parse(event.data));
      } catch (error) {
        /* a malformed message is dropped; the next one carries the whole state again */
      }
    };
    socket.onclose = function (event) {
      if (self.socket === socket) self.socket = null;
      self.socketFailed(opened, event.code);
    };
  };

  ProgressPage.prototype.socketFailed = function (opened, code) {
    if (this.finished) return;
    if (code === CLOSE_UNAUTHORIZED) {
      this.startPolling(); // the token is refused or expired: the status URL still works
      return;
    }
    if (!opened) this.failedOpens += 1;
    if (this.failedOpens >= FAILED_OPENS_BEFORE_POLLING) this.startPolling();
    this.scheduleReconnect();
  };

  ProgressPage.prototype.scheduleReconnect = function () {
    if (this.reconnectTimer !== null) return;
    var delay = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * Math.pow(2, this.attempts));
    delay = delay / 2 + Math.random() * (delay / 2); // jitter: tabs do not reconnect in step
    this.attempts += 1;
    this.reconnectTimer = window.setTimeout(this.connect.bind(this), delay);
  };

  /* --- polling fallback ----------------------------------------------------------------- */

  ProgressPage.prototype.startPolling = function () {
    if (this.polling || this.finished) return;
    this.polling = true;
    this.root.dataset.transport = "polling";
    this.poll();
  };

  ProgressPage.prototype.poll = function () {
    var self = this;
    this.pollTimer = null;
    fetch(this.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (state) {
        if (self.polling) self.render(state);
      })
      .catch(function () {
        /* the next poll tries again */
      })
      .then(function () {
        if (!self.polling || self.finished) return;
        self.pollTimer = window.setTimeout(self.poll.bind(self), POLL_MS);
      });
  };

  ProgressPage.prototype.stopPolling = function () {
    this.polling = false;
    if (this.pollTimer !== null) window.clearTimeout(this.pollTimer);
    this.pollTimer = null;
    if (this.root.dataset.transport === "polling") this.root.dataset.transport = "socket";
  };

  ProgressPage.prototype.stopAll = function () {
    this.stopPolling();
    if (this.reconnectTimer !== null) window.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    if (this.socket) {
      var socket = this.socket;
      this.socket = null;
      socket.onclose = null;
      socket.close();
    }
  };

  window.ShowcaseProgress = { allowedUrl: allowedUrl }; // for tests and the console

  function init() {
    var root = document.getElementById("progress");
    if (!root || !root.dataset.requestId) return;
    var page = new ProgressPage(root);
    root.progressPage = page; // reachable from the console when debugging
    page.start();
  }

  // Back from the showcase may show this page from the back/forward cache, as it was when it
  // left: it stays (the outcome and its link are on it) rather than going on again.
  window.addEventListener("pageshow", function (event) {
    var root = document.getElementById("progress");
    if (event.persisted && root && root.dataset.redirect === "scheduled") {
      root.dataset.redirect = "done";
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
