import { Module } from '@nestjs/common';
import { ConversationsController } from './conversations.controller';
import { ExecuteConversationCommandHandler } from './commands/execute-conversation-command.handler';
import { GetConversationHandler } from './queries/get-conversation.query';

@Module({
  controllers: [ConversationsController],
  providers: [ExecuteConversationCommandHandler, GetConversationHandler],
})
export class ConversationsModule {}
