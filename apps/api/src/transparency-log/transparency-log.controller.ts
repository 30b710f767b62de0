import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { InvalidTreeSize, NoCheckpoint, NotInTree, SEQUENCER_NAME } from '@app/transparency';
import type { Principal } from '../auth/api-keys';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ApiError } from '../common/api-error';
import { ApiReadProblems } from '../common/api-problems.decorator';
import { WaitForAlso } from '../projections/wait-for.interceptor';
import { NoQueryDto } from '../common/read-query.dto';
import { CheckpointsQueryDto, ConsistencyQueryDto, InclusionQueryDto } from './dto/log-query.dto';
import { CheckpointPageDto, ConsistencyProofDto, InclusionProofDto, VerifierKeyDto } from './dto/log-responses.dto';
import { TransparencyLogService } from './transparency-log.service';

const b64 = (h: Buffer) => h.toString('base64');

/**
 * The transparency log (CONTRACT.md "Transparency log"): checkpoints, keys, proofs. `?waitFor=`
 * also waits for the sequencer: a write's event then has its leaf.
 */
@ApiTags('transparency log')
@WaitForAlso(SEQUENCER_NAME)
@ApiBearerAuth()
@Roles('auditor')
@Controller('v1/audit/log')
export class TransparencyLogController {
  constructor(private readonly tlog: TransparencyLogService) {}

  @Get('checkpoint')
  @ApiOperation({
    summary: 'The latest signed checkpoint, byte-exact (C2SP tlog-checkpoint signed as a C2SP signed note)',
    description: '404 NOT_FOUND while no checkpoint is signed.',
  })
  @ApiProduces('text/plain; charset=utf-8')
  @ApiOkResponse({
    description: '`<origin>\\n<tree size>\\n<base64 root>\\n\\n— <origin> <base64 signature>\\n`',
    content: { 'text/plain; charset=utf-8': { schema: { type: 'string' } } },
  })
  @ApiReadProblems(404)
  async checkpoint(@Query() _query: NoQueryDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const latest = await this.tlog.log.latestCheckpoint();
    if (!latest) throw ApiError.notFound('a signed checkpoint');
    void reply.header('content-type', 'text/plain; charset=utf-8').header('cache-control', 'no-store');
    return latest.note;
  }

  @Get('checkpoints')
  @ApiOperation({ summary: 'Signed checkpoints, newest first (keyset pages by tree size)' })
  @ApiOkResponse({ type: CheckpointPageDto })
  @ApiReadProblems()
  async checkpoints(@Query() query: CheckpointsQueryDto): Promise<CheckpointPageDto> {
    const page = await this.tlog.log.checkpoints({
      before: query.cursor === undefined ? undefined : Number(query.cursor),
      limit: query.limit ?? 50,
    });
    return {
      items: page.items.map((c) => ({
        treeSize: c.treeSize,
        rootHash: b64(c.rootHash),
        signedAt: c.signedAt.toISOString(),
        note: c.note,
      })),
      nextCursor: page.next === null ? null : String(page.next),
    };
  }

  @Get('verifier-key')
  @ApiOperation({
    summary: 'The verifier key of the log’s signing key, and every key with the tree sizes it signed',
    description: '404 NOT_FOUND while the log has no signing key.',
  })
  @ApiOkResponse({ type: VerifierKeyDto })
  @ApiReadProblems(404)
  async verifierKey(@Query() _query: NoQueryDto): Promise<VerifierKeyDto> {
    const { origin, verifierKey, keys } = await this.tlog.log.verifierKeys();
    if (!verifierKey) throw ApiError.notFound('a signing key');
    return {
      origin,
      verifierKey,
      keys: keys.map((k) => ({
        verifierKey: k.verifierKey,
        fromTreeSize: k.fromTreeSize,
        ...(k.toTreeSize === undefined ? {} : { toTreeSize: k.toTreeSize }),
      })),
    };
  }

  @Get('inclusion')
  @ApiOperation({
    summary: 'An inclusion proof of an event (eventId, or streamId and version) in the tree of treeSize leaves',
    description:
      'treeSize defaults to the latest signed checkpoint’s size; any size up to the current tree (400 beyond). ' +
      '404 NOT_IN_TREE when the event is unknown, not yet sequenced, not below treeSize, or of another tenant.',
  })
  @ApiOkResponse({ type: InclusionProofDto })
  @ApiReadProblems([404, 'NOT_IN_TREE'])
  async inclusion(@Query() query: InclusionQueryDto, @CurrentPrincipal() who: Principal): Promise<InclusionProofDto> {
    const byEvent = query.eventId !== undefined;
    const byStream = query.streamId !== undefined || query.version !== undefined;
    if (byEvent === byStream || (byStream && (query.streamId === undefined || query.version === undefined))) {
      throw ApiError.validation('give eventId, or streamId and version', [
        { field: byEvent ? 'streamId' : 'eventId', messages: ['give eventId, or streamId and version'] },
      ]);
    }
    const ref = byEvent ? { eventId: query.eventId! } : { streamId: query.streamId!, version: query.version! };
    try {
      const proof = await this.tlog.log.inclusion(ref, query.treeSize, who.tenantId === '*' ? undefined : who.tenantId);
      return {
        leafIndex: proof.leafIndex,
        treeSize: proof.treeSize,
        leafHash: b64(proof.leafHash),
        hashes: proof.hashes.map(b64),
      };
    } catch (err) {
      throw translate(err, 'treeSize');
    }
  }

  @Get('consistency')
  @ApiOperation({ summary: 'A consistency proof (RFC 9162) between the trees of `from` and `to` leaves' })
  @ApiOkResponse({ type: ConsistencyProofDto })
  @ApiReadProblems()
  async consistency(@Query() query: ConsistencyQueryDto): Promise<ConsistencyProofDto> {
    try {
      const hashes = await this.tlog.log.consistency(query.from, query.to);
      return { from: query.from, to: query.to, hashes: hashes.map(b64) };
    } catch (err) {
      throw translate(err, 'to');
    }
  }
}

function translate(err: unknown, field: string): unknown {
  if (err instanceof NotInTree) return new ApiError(404, 'NOT_IN_TREE', err.message);
  if (err instanceof InvalidTreeSize) return ApiError.validation(err.message, [{ field, messages: [err.message] }]);
  if (err instanceof NoCheckpoint) return ApiError.notFound('a signed checkpoint');
  return err;
}
