import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { ROLES } from '@app/access';
import type { Principal } from '../auth/api-keys';
import { CurrentPrincipal } from '../auth/auth.decorators';
import { ApiReadProblems } from '../common/api-problems.decorator';
import { NoQueryDto } from '../audit/dto/audit-query.dto';

export class MeDto {
  @ApiProperty({ format: 'uuid' }) keyId: string;
  @ApiProperty({ enum: ROLES }) role: string;
  @ApiProperty({ description: 'The tenant the key acts for; * for a key of every tenant', example: 'acme' })
  tenantId: string;
  @ApiProperty({ type: String, nullable: true, description: 'The label given at keys:create, if any' })
  label: string | null;
}

/** Who the presented key is: any valid key may ask (a console shows it and picks its views by role). */
@ApiTags('keys')
@ApiBearerAuth()
@Controller('v1/me')
export class MeController {
  @Get()
  @ApiOperation({ summary: 'The calling API key: id, role, tenant and label (never the key)' })
  @ApiOkResponse({ type: MeDto })
  @ApiReadProblems()
  // the query is validated: an unknown parameter is a 400
  me(@Query() _query: NoQueryDto, @CurrentPrincipal() who: Principal): MeDto {
    return { keyId: who.keyId, role: who.role, tenantId: who.tenantId, label: who.label ?? null };
  }
}
