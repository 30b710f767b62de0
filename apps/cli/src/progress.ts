/** A progress line on stderr (a bar on a terminal, a line every few seconds otherwise). */
export class Progress {
  private count = 0;
  private lastDraw = 0;
  private readonly started = Date.now();

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  tick(n = 1): void {
    this.count += n;
    const now = Date.now();
    const interval = process.stderr.isTTY ? 100 : 2000;
    if (now - this.lastDraw >= interval) this.draw(now);
  }

  done(): void {
    this.draw(Date.now());
    if (process.stderr.isTTY) process.stderr.write('\n');
  }

  private draw(now: number): void {
    this.lastDraw = now;
    const pct = this.total > 0 ? Math.min(100, Math.floor((this.count / this.total) * 100)) : 100;
    const rate = Math.round(this.count / Math.max((now - this.started) / 1000, 0.001));
    const bar = '#'.repeat(Math.floor(pct / 4)).padEnd(25, '.');
    const line = `${this.label} [${bar}] ${this.count}/${this.total} ${pct}% ${rate}/s`;
    process.stderr.write(process.stderr.isTTY ? `\r${line}` : `${line}\n`);
  }
}
