import { Module } from '@nestjs/common';
import { ConversationsController } from './conversations.controller';
import { AppendMessageHandler } from './commands/append-message.handler';
import { ClearSafetyRiskHandler } from './commands/clear-safety-risk.handler';
import { commandDepsProvider, COMMAND_DEPS, SnapshotWritesFlusher } from './commands/conversation-commands';
import { EndConversationHandler } from './commands/end-conversation.handler';
import { FlagSafetyRiskHandler } from './commands/flag-safety-risk.handler';
import { IssueWarningHandler } from './commands/issue-warning.handler';
import { RecordRedirectionHandler } from './commands/record-redirection.handler';
import { RequestEndHandler } from './commands/request-end.handler';
import { StartConversationHandler } from './commands/start-conversation.handler';
import { SubmitFeedbackHandler } from './commands/submit-feedback.handler';
import { GetConversationHandler, GetReadableConversationHandler } from './queries/get-conversation.query';
import { GetThreadStatusHandler } from './queries/get-thread-status.query';

/** Conversation commands (one handler each, over handleConversationCommand) and reads. */
@Module({
  controllers: [ConversationsController],
  providers: [
    commandDepsProvider,
    SnapshotWritesFlusher,
    StartConversationHandler,
    AppendMessageHandler,
    RecordRedirectionHandler,
    IssueWarningHandler,
    RequestEndHandler,
    EndConversationHandler,
    SubmitFeedbackHandler,
    FlagSafetyRiskHandler,
    ClearSafetyRiskHandler,
    GetConversationHandler,
    GetReadableConversationHandler,
    GetThreadStatusHandler,
  ],
  // the review handler (AuditModule) shares the process's command queue and state cache
  exports: [COMMAND_DEPS],
})
export class ConversationsModule {}
