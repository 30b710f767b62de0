import cluster from 'node:cluster';
import { AggregatorRegistry, Registry } from 'prom-client';

const SCRAPE = 'conversation-service:scrape';
const SCRAPED = 'conversation-service:scraped';

interface Scraped {
  type: typeof SCRAPED;
  id: number;
  text?: string;
  error?: string;
}

/**
 * How /metrics reads the metrics. Alone: this process's registry. In a worker (WORKERS > 1) a
 * scrape reaches one worker, so it asks the primary, which gathers every worker's registry
 * (prom-client's AggregatorRegistry: counters and histograms summed) and answers the whole.
 */
export function clusterScrape(registry: Registry): () => Promise<string> {
  if (!cluster.isWorker) return () => registry.metrics();
  // Answers the primary's requests for this worker's own metrics.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries(registry);
  let next = 0;
  const pending = new Map<number, (answer: Scraped) => void>();
  process.on('message', (message: Scraped) => {
    if (message?.type === SCRAPED) pending.get(message.id)?.(message);
  });
  return () =>
    new Promise((ok, fail) => {
      const id = next++;
      const timer = setTimeout(
        () => answer({ type: SCRAPED, id, error: 'no answer from the primary in 10 s' }),
        10_000,
      );
      const answer = (m: Scraped) => {
        clearTimeout(timer);
        pending.delete(id);
        if (m.text !== undefined) ok(m.text);
        else fail(new Error(`metrics of the workers: ${m.error}`));
      };
      pending.set(id, answer);
      process.send!({ type: SCRAPE, id });
    });
}

/** In the primary: answers a worker's scrape with the metrics of every worker. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: { type?: string; id?: number }) => {
    if (message?.type !== SCRAPE) return;
    const reply = (m: Omit<Scraped, 'type' | 'id'>) => {
      if (worker.isConnected()) worker.send({ type: SCRAPED, id: message.id, ...m });
    };
    aggregator.clusterMetrics().then(
      (text) => reply({ text }),
      (err: Error) => reply({ error: err.message }),
    );
  });
}
