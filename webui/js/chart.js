// A small live line chart on a canvas: allowed and dropped packets per
// second over the last minute.
export class RateChart {
  constructor(canvas, seconds = 60) {
    this.canvas = canvas;
    this.seconds = seconds;
    this.series = { allowed: [], dropped: [] };
    const css = getComputedStyle(document.documentElement);
    this.colors = { allowed: css.getPropertyValue("--allowed").trim(), dropped: css.getPropertyValue("--dropped").trim() };
  }

  push(allowed, dropped) {
    for (const [k, v] of Object.entries({ allowed, dropped })) {
      this.series[k].push(Math.max(0, v));
      if (this.series[k].length > this.seconds) this.series[k].shift();
    }
    this.draw();
  }

  draw() {
    const c = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const w = c.clientWidth, hgt = c.clientHeight;
    if (c.width !== w * ratio || c.height !== hgt * ratio) { c.width = w * ratio; c.height = hgt * ratio; }
    const g = c.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, w, hgt);
    const max = Math.max(1, ...this.series.allowed, ...this.series.dropped);
    g.strokeStyle = "#d8dde3";
    g.fillStyle = "#5b6570";
    g.font = "11px system-ui, sans-serif";
    g.beginPath();
    g.moveTo(0, hgt - 0.5);
    g.lineTo(w, hgt - 0.5);
    g.stroke();
    g.fillText(`${Math.round(max).toLocaleString("en-US")} pkt/s`, 4, 12);
    for (const [k, values] of Object.entries(this.series)) {
      g.strokeStyle = this.colors[k];
      g.lineWidth = 2;
      g.beginPath();
      values.forEach((v, i) => {
        const x = (w * (this.seconds - values.length + i)) / (this.seconds - 1);
        const y = hgt - 2 - ((hgt - 16) * v) / max;
        if (i) g.lineTo(x, y); else g.moveTo(x, y);
      });
      g.stroke();
    }
  }
}
