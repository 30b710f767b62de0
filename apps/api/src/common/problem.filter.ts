import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toProblem } from './error-mapping';
import { unmatchedRouteProblem } from './fastify-refusals';

/** The one place where errors become application/problem+json. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(err: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const request = ctx.getRequest<FastifyRequest>();
    sendProblem(err, request, reply, this.logger);
  }
}

export function sendProblem(
  err: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  logger: Pick<Logger, 'error'>,
): void {
  const { problem: mapped, unexpected, retryAfterSeconds, headers = {} } = toProblem(err);
  if (unexpected) logger.error({ err, reqId: request.id, url: request.url }, 'unexpected error');
  if (reply.sent || reply.raw.headersSent) return;
  if (retryAfterSeconds !== undefined) void reply.header('retry-after', String(retryAfterSeconds));
  for (const [name, value] of Object.entries(headers)) void reply.header(name, value);
  // No route matched (Nest's not-found handler): 404, or 405 when the path is served otherwise.
  // Another refusal of such a request (429 from the address's bucket) stays what it is.
  const problem = request.is404 && mapped.status === 404 ? unmatchedRouteProblem(request, reply) : mapped;
  void reply.status(problem.status).header('content-type', 'application/problem+json').send(problem);
}
