import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

const HASH = { format: 'byte', example: 'n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=' };

export class CheckpointItemDto {
  @ApiProperty({ minimum: 0, example: 1024 }) treeSize!: number;
  @ApiProperty({ ...HASH, description: 'The root hash, base64' }) rootHash!: string;
  @ApiProperty({ format: 'date-time' }) signedAt!: string;
  @ApiProperty({ description: 'The signed checkpoint (C2SP signed note), byte-exact' }) note!: string;
}

export class CheckpointPageDto {
  @ApiProperty({ type: [CheckpointItemDto], description: 'Newest first' }) items!: CheckpointItemDto[];
  @ApiProperty({ type: String, nullable: true, description: 'null on the last page' }) nextCursor!: string | null;
}

export class LogKeyDto {
  @ApiProperty({ example: 'example.com/log+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW' })
  verifierKey!: string;
  @ApiProperty({ minimum: 0, description: 'The first tree size it signed' }) fromTreeSize!: number;
  @ApiPropertyOptional({ minimum: 0, description: 'The last tree size it signed, once a newer key took over' })
  toTreeSize?: number;
}

export class VerifierKeyDto {
  @ApiProperty({ example: 'example.com/log' }) origin!: string;
  @ApiProperty({ description: 'The current key (C2SP signed-note verifier key)' }) verifierKey!: string;
  @ApiProperty({ type: [LogKeyDto], description: 'Every key, oldest first' }) keys!: LogKeyDto[];
}

export class InclusionProofDto {
  @ApiProperty({ minimum: 0 }) leafIndex!: number;
  @ApiProperty({ minimum: 1 }) treeSize!: number;
  @ApiProperty({ ...HASH, description: 'SHA-256(0x00 ‖ the event’s 32-byte chain hash), base64' }) leafHash!: string;
  @ApiProperty({ type: 'array', items: { type: 'string', format: 'byte' }, description: 'The audit path, base64' })
  hashes!: string[];
}

export class ConsistencyProofDto {
  @ApiProperty({ minimum: 0 }) from!: number;
  @ApiProperty({ minimum: 0 }) to!: number;
  @ApiProperty({ type: 'array', items: { type: 'string', format: 'byte' }, description: 'RFC 9162 proof, base64' })
  hashes!: string[];
}
