/** Prints rows as aligned columns under a header (the key and retention lists). */
export function printTable(header: string[], rows: string[][], empty: string): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  if (rows.length === 0) console.log(empty);
}
