// The admin page keeps itself current: every few seconds it asks /admin/status.json and swaps
// in each section whose content changed, unless the admin is using that section (the focus is
// in it, or a field there has been typed in): it waits for the next round then. Without
// JavaScript the page is the same, current when loaded, and every button works (plain forms).
(function () {
  "use strict";
  const root = document.getElementById("admin");
  if (!root || !window.fetch) return;
  const url = root.dataset.statusUrl;
  const every = Math.max(1, parseFloat(root.dataset.pollS || "5")) * 1000;
  const live = document.getElementById("admin-live");
  const updated = root.querySelector("[data-updated]");
  const shown = new Map();
  let paused = pausedNow();
  let timer = null;

  function pausedNow() {
    const banner = root.querySelector("[data-paused]");
    return banner ? banner.dataset.paused === "true" : null;
  }

  function inUse(section) {
    if (section.contains(document.activeElement) && document.activeElement !== document.body) {
      return true;
    }
    const fields = section.querySelectorAll("input:not([type=hidden]), textarea, select");
    return Array.from(fields).some((field) => field.value !== field.defaultValue);
  }

  function announce(now) {
    if (paused !== null && now !== null && now !== paused && live) {
      live.textContent = now ? "Roll-outs are now paused." : "Roll-outs have resumed.";
    }
    paused = now;
  }

  async function refresh() {
    try {
      const response = await fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (!response.ok) return;
      const data = await response.json();
      for (const [name, html] of Object.entries(data.html || {})) {
        const section = root.querySelector('[data-live="' + name + '"]');
        if (!section || shown.get(name) === html || inUse(section)) continue;
        section.innerHTML = html;
        shown.set(name, html);
      }
      announce(data.paused === undefined ? null : Boolean(data.paused));
      root.dataset.refreshed = String(Number(root.dataset.refreshed || "0") + 1);
      if (updated) {
        const time = updated.querySelector("time");
        const now = new Date();
        time.dateTime = now.toISOString();
        time.textContent = now.toLocaleTimeString();
        updated.hidden = false;
      }
    } catch (error) {
      // The network or intake is away for a moment: the next round tries again.
    } finally {
      schedule();
    }
  }

  function schedule() {
    clearTimeout(timer);
    if (!document.hidden) timer = setTimeout(refresh, every);
  }

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) clearTimeout(timer);
    else refresh();
  });
  schedule();
})();
