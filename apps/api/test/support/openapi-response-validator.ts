import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/** The parts of an OpenAPI 3.0 document the validator reads. */
export interface OpenApiDocument {
  paths: Record<string, Partial<Record<string, Operation>>>;
  components?: { schemas?: Record<string, object> };
}
interface Operation {
  responses: Record<string, ResponseDoc>;
}
interface ResponseDoc {
  headers?: Record<string, { required?: boolean; schema?: object }>;
  content?: Record<string, { schema?: object }>;
}

/** One HTTP exchange as a test saw it; `body` already parsed or not, `text` when it was text. */
export interface ObservedResponse {
  method: string;
  url: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  text?: string;
}

const COMPONENTS_ID = 'urn:openapi:components';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/**
 * Checks answers against the OpenAPI document: the status must be documented for the
 * operation (no `default`), the content type one of the documented media types, a JSON body
 * valid against the schema (types, formats, required fields, enums), required headers present.
 * A path the document does not know must be a 404 problem; a known path with an undocumented
 * method a 405 problem whose `Allow` lists the documented methods.
 */
export class OpenApiResponseValidator {
  private readonly ajv = new Ajv({ strict: true, strictTypes: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly routes: { template: string; pattern: RegExp; params: number }[];

  constructor(
    private readonly document: OpenApiDocument,
    private readonly problemSchema = 'ProblemDto',
  ) {
    addFormats(this.ajv);
    // OpenAPI 3.0 annotations that JSON Schema does not know.
    this.ajv.addVocabulary(['example', 'xml', 'externalDocs']);
    this.ajv.addSchema({ $id: COMPONENTS_ID, definitions: localRefs(document.components?.schemas ?? {}) });
    this.routes = Object.keys(document.paths)
      .map((template) => ({
        template,
        pattern: new RegExp(
          `^${template
            .replace(/[.*+?^$()|[\]\\]/g, '\\$&')
            // A trailing {path} is any path under its prefix (the console's files and client-side routes).
            .replace(/\/\{path\}$/, '/.*')
            .replace(/\{[^}]+\}/g, '[^/]+')}$`,
        ),
        params: (template.match(/\{/g) ?? []).length,
      }))
      // A literal segment wins over a parameter (/v1/events/stream before /v1/events/{x}).
      .sort((a, b) => a.params - b.params);
  }

  /** Every way the answer departs from the document; empty when it conforms. */
  violations(res: ObservedResponse): string[] {
    const method = res.method.toLowerCase();
    const path = res.url.split('?')[0];
    const where = `${res.method.toUpperCase()} ${path} → ${res.status}`;
    const route = this.routes.find((r) => r.pattern.test(path));
    if (!route) return this.unmatched(res, where, 404, 'NOT_FOUND');
    const item = this.document.paths[route.template];
    const operation = item[method] ?? (method === 'head' ? item.get : undefined);
    if (!operation) {
      if (res.status === 429) return this.unmatched(res, where, 429, 'RATE_LIMITED');
      const documented = METHODS.filter((m) => item[m]).map((m) => m.toUpperCase());
      if (documented.includes('GET')) documented.push('HEAD');
      const problems = this.unmatched(res, where, 405, 'METHOD_NOT_ALLOWED');
      const allow = String(res.headers.allow ?? '')
        .split(/,\s*/)
        .filter(Boolean)
        .sort();
      if (allow.join() !== [...new Set(documented)].sort().join())
        problems.push(`${where}: Allow "${allow.join(', ')}" is not the documented methods ${documented.join(', ')}`);
      return problems;
    }
    const doc = operation.responses[String(res.status)];
    if (!doc)
      return [
        `${where}: status ${res.status} is not documented for ${route.template} ` +
          `(documented: ${Object.keys(operation.responses).join(', ')})`,
      ];
    const key = `${method} ${route.template} ${res.status}`;
    return [...this.checkHeaders(res, doc, where), ...(method === 'head' ? [] : this.checkBody(res, doc, where, key))];
  }

  /** Throws an error naming every violation. */
  assertValid(res: ObservedResponse): void {
    const found = this.violations(res);
    if (found.length) throw new Error(`The answer departs from the OpenAPI document:\n- ${found.join('\n- ')}`);
  }

  private unmatched(res: ObservedResponse, where: string, status: number, code: string): string[] {
    // The address's rate limit refuses a request before it matters whether its path is served.
    if (res.status === 429) [status, code] = [429, 'RATE_LIMITED'];
    if (res.status !== status)
      return [`${where}: the document has no such operation, so the answer must be ${status} ${code}`];
    const doc = {
      content: { 'application/problem+json': { schema: { $ref: `#/components/schemas/${this.problemSchema}` } } },
    };
    const problems = this.checkBody(res, doc, where, `unmatched ${status}`);
    const body = parsed(res);
    if (problems.length === 0 && (body as { code?: unknown })?.code !== code)
      problems.push(`${where}: code must be ${code}`);
    return problems;
  }

  private checkHeaders(res: ObservedResponse, doc: ResponseDoc, where: string): string[] {
    const problems: string[] = [];
    for (const [name, header] of Object.entries(doc.headers ?? {})) {
      const value = res.headers[name.toLowerCase()];
      if (value === undefined) {
        if (header.required) problems.push(`${where}: required header ${name} is missing`);
        continue;
      }
      const raw = Array.isArray(value) ? value[0] : value;
      const type = (header.schema as { type?: string } | undefined)?.type;
      const typed = type === 'integer' || type === 'number' ? (/^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw) : raw;
      const check = header.schema ? this.validator(`header ${where} ${name}`, header.schema) : null;
      if (check && !check(typed))
        problems.push(`${where}: header ${name} "${raw}" ${this.ajv.errorsText(check.errors, { dataVar: name })}`);
    }
    return problems;
  }

  private checkBody(res: ObservedResponse, doc: ResponseDoc, where: string, key: string): string[] {
    const hasBody = res.text !== undefined ? res.text.length > 0 : res.body !== undefined && !isEmptyObject(res.body);
    const contentType = String(res.headers['content-type'] ?? '');
    if (!doc.content)
      return hasBody ? [`${where}: a body (${contentType || 'no content type'}) where the document has none`] : [];
    const mediaType = essence(contentType);
    const documented = Object.keys(doc.content);
    const match = documented.find((m) => essence(m) === mediaType);
    if (!match) {
      // No body was read (a stream the test left open): only a sent content type can be wrong.
      if (!contentType && !hasBody && res.body === undefined) return [];
      return [`${where}: content type "${contentType}" is not documented (documented: ${documented.join(', ')})`];
    }
    const schema = doc.content[match].schema;
    if (!schema || !/[/+]json$/.test(mediaType) || (res.body === undefined && res.text === undefined)) return [];
    const body = parsed(res);
    if (body instanceof Error) return [`${where}: the ${mediaType} body is not JSON (${body.message})`];
    const check = this.validator(`${key} ${match}`, schema);
    return check(body) ? [] : [`${where}: ${this.ajv.errorsText(check.errors, { dataVar: 'body' })}`];
  }

  private validator(key: string, schema: object): ValidateFunction {
    let check = this.compiled.get(key);
    if (!check) this.compiled.set(key, (check = this.ajv.compile(localRefs(schema))));
    return check;
  }
}

/** `#/components/schemas/X` → the copy of the components registered with Ajv. */
function localRefs<T>(schema: T): T {
  return JSON.parse(JSON.stringify(schema), (key, value) =>
    key === '$ref' && typeof value === 'string'
      ? value.replace('#/components/schemas/', `${COMPONENTS_ID}#/definitions/`)
      : value,
  );
}

function essence(contentType: string): string {
  return contentType.split(';')[0].trim().toLowerCase();
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Buffer.isBuffer(value) && Object.keys(value).length === 0;
}

function parsed(res: ObservedResponse): unknown {
  const raw =
    typeof res.text === 'string' ? res.text : Buffer.isBuffer(res.body) ? res.body.toString('utf8') : undefined;
  if (raw === undefined) return res.body;
  try {
    return JSON.parse(raw);
  } catch (err) {
    return err as Error;
  }
}
