# HSDO on AWS: the slot table, the fleet health table and the two roles, with exactly the actions
# the agent sends (docs/iam/; tests/infra/check_iac.js checks that these
# documents and the policies there agree).

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# The original's schema: one item per slot, hash key BackendServerID (N).
resource "aws_dynamodb_table" "slots" {
  name                        = var.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "BackendServerID"
  deletion_protection_enabled = true

  attribute {
    name = "BackendServerID"
    type = "N"
  }

  point_in_time_recovery {
    enabled = true
  }

  tags = var.tags
}

# Fleet health (docs/health.md): one report per client, hash key ClientId
# (S); DynamoDB deletes the reports of clients gone for good (TTL).
resource "aws_dynamodb_table" "health" {
  name         = var.health_table_name != "" ? var.health_table_name : "${var.table_name}-health"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "ClientId"

  attribute {
    name = "ClientId"
    type = "S"
  }

  ttl {
    attribute_name = "Expires"
    enabled        = true
  }

  tags = var.tags
}

data "aws_iam_policy_document" "ec2_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

# hsdo-agent --server (docs/iam/hsdo-server.json)
data "aws_iam_policy_document" "server" {
  statement {
    sid = "SlotTable"
    actions = [
      "dynamodb:DescribeTable",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Scan",
      "dynamodb:UpdateItem",
    ]
    resources = [aws_dynamodb_table.slots.arn]
  }

  # AWS has no resource-level permission for these two: limited to the region.
  statement {
    sid = "DiscoverInstances"
    actions = [
      "autoscaling:DescribeAutoScalingGroups",
      "ec2:DescribeInstances",
    ]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [data.aws_region.current.name]
    }
  }

  statement {
    sid       = "HealthReportsRead"
    actions   = ["dynamodb:Scan"]
    resources = [aws_dynamodb_table.health.arn]
  }

  dynamic "statement" {
    for_each = length(var.asg_names) > 0 ? [1] : []

    content {
      sid     = "ReplaceFailingInstances"
      actions = ["autoscaling:SetInstanceHealth"]
      resources = [
        for name in var.asg_names :
        "arn:${data.aws_partition.current.partition}:autoscaling:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:autoScalingGroup:*:autoScalingGroupName/${name}"
      ]
    }
  }

  dynamic "statement" {
    for_each = length(var.asg_names) > 0 ? [1] : []

    content {
      sid     = "CompleteLifecycleHooks"
      actions = ["autoscaling:CompleteLifecycleAction"]
      resources = [
        for name in var.asg_names :
        "arn:${data.aws_partition.current.partition}:autoscaling:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:autoScalingGroup:*:autoScalingGroupName/${name}"
      ]
    }
  }
}

# hsdo-agent --client (docs/iam/hsdo-client.json)
data "aws_iam_policy_document" "client" {
  statement {
    sid = "SlotTableRead"
    actions = [
      "dynamodb:DescribeTable",
      "dynamodb:GetItem",
      "dynamodb:Scan",
    ]
    resources = [aws_dynamodb_table.slots.arn]
  }

  statement {
    sid       = "HealthReportWrite"
    actions   = ["dynamodb:PutItem"]
    resources = [aws_dynamodb_table.health.arn]
  }
}

resource "aws_iam_role" "server" {
  name               = "${var.name_prefix}-server"
  assume_role_policy = data.aws_iam_policy_document.ec2_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "server" {
  name   = "${var.name_prefix}-server"
  role   = aws_iam_role.server.id
  policy = data.aws_iam_policy_document.server.json
}

resource "aws_iam_instance_profile" "server" {
  name = "${var.name_prefix}-server"
  role = aws_iam_role.server.name
  tags = var.tags
}

resource "aws_iam_role" "client" {
  name               = "${var.name_prefix}-client"
  assume_role_policy = data.aws_iam_policy_document.ec2_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "client" {
  name   = "${var.name_prefix}-client"
  role   = aws_iam_role.client.id
  policy = data.aws_iam_policy_document.client.json
}

resource "aws_iam_instance_profile" "client" {
  name = "${var.name_prefix}-client"
  role = aws_iam_role.client.name
  tags = var.tags
}
