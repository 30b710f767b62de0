// Times in the viewer's time zone, UTC in the title.
const local = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span>—</span>;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return <span>{iso}</span>;
  return (
    <time dateTime={date.toISOString()} title={`${date.toISOString().replace('T', ' ').slice(0, 19)} UTC`}>
      {local.format(date)}
    </time>
  );
}

export const shortId = (id: string) => id.slice(0, 8);

export const REVIEW_LABEL: Record<string, string> = {
  none: 'pending',
  upheld: 'upheld',
  overturned: 'overturned',
  reclassified: 'reclassified',
};
