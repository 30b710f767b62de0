import { Module } from '@nestjs/common';
import { ConversationsController } from './conversations.controller';
import { ExecuteConversationCommandHandler } from './commands/execute-conversation-command.handler';
import { GetConversationHandler } from './queries/get-conversation.query';
import { GetThreadStatusHandler } from './queries/get-thread-status.query';

@Module({
  controllers: [ConversationsController],
  providers: [ExecuteConversationCommandHandler, GetConversationHandler, GetThreadStatusHandler],
})
export class ConversationsModule {}
