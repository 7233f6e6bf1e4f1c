/** Numbers as otoc prints them. */

export function percent(fraction: number): string {
  return `${(100 * fraction).toFixed(1)}%`;
}

/** Seconds as m:ss or h:mm:ss. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const pad = (n: number) => String(n).padStart(2, '0');
  return h ? `${h}:${pad(m)}:${pad(sec)}` : `${m}:${pad(sec)}`;
}
