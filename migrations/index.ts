import { EventStore1764400000000 } from './1764400000000-EventStore';
import { ApiKeys1764400100000 } from './1764400100000-ApiKeys';
import { Projections1764400200000 } from './1764400200000-Projections';
import { AuditIndexes1764400300000 } from './1764400300000-AuditIndexes';
import { ThreadStatusSnapshot1764400400000 } from './1764400400000-ThreadStatusSnapshot';
import { AppendFromCanonicalBodies1764400500000 } from './1764400500000-AppendFromCanonicalBodies';
import { ConversationStreamIds1764400600000 } from './1764400600000-ConversationStreamIds';
import { LeastPrivilege1764400700000 } from './1764400700000-LeastPrivilege';
import { ApiKeyLifecycle1764400800000 } from './1764400800000-ApiKeyLifecycle';
import { FeedByTenant1764400900000 } from './1764400900000-FeedByTenant';
import { ApiKeyRowGuard1764401000000 } from './1764401000000-ApiKeyRowGuard';
import { StreamSnapshots1764401100000 } from './1764401100000-StreamSnapshots';
import { TransparencyLog1764401200000 } from './1764401200000-TransparencyLog';
import { AccessLog1764401300000 } from './1764401300000-AccessLog';
import { ConversationsByModel1764401500000 } from './1764401500000-ConversationsByModel';
import { ContentKeys1764402000000 } from './1764402000000-ContentKeys';
import { ReadModelsWithoutContent1764402100000 } from './1764402100000-ReadModelsWithoutContent';
import { RetentionSettings1764402300000 } from './1764402300000-RetentionSettings';
import { TlogLeafRanges1764402400000 } from './1764402400000-TlogLeafRanges';
import { ThreadStatusSnapshotPoints1764402500000 } from './1764402500000-ThreadStatusSnapshotPoints';
import { ThreadStatusSnapshotSchema1764402600000 } from './1764402600000-ThreadStatusSnapshotSchema';
import { StreamOrderGuard1764402800000 } from './1764402800000-StreamOrderGuard';

/** Every migration, in order. The app and the CLI share this list (never `synchronize`). */
export const migrations = [
  EventStore1764400000000,
  ApiKeys1764400100000,
  Projections1764400200000,
  AuditIndexes1764400300000,
  ThreadStatusSnapshot1764400400000,
  AppendFromCanonicalBodies1764400500000,
  ConversationStreamIds1764400600000,
  LeastPrivilege1764400700000,
  ApiKeyLifecycle1764400800000,
  FeedByTenant1764400900000,
  ApiKeyRowGuard1764401000000,
  StreamSnapshots1764401100000,
  TransparencyLog1764401200000,
  AccessLog1764401300000,
  ConversationsByModel1764401500000,
  ContentKeys1764402000000,
  ReadModelsWithoutContent1764402100000,
  RetentionSettings1764402300000,
  TlogLeafRanges1764402400000,
  ThreadStatusSnapshotPoints1764402500000,
  ThreadStatusSnapshotSchema1764402600000,
  StreamOrderGuard1764402800000,
];
