import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The README's example is the file the client's end-to-end test runs (apps/api/test/client.e2e-spec.ts). */
describe('libs/client/README.md', () => {
  it('shows libs/client/examples/end-a-conversation.ts as it is', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    const example = readFileSync(join(__dirname, '..', 'examples', 'end-a-conversation.ts'), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });
});
