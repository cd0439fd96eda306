output "table_name" {
  value = aws_dynamodb_table.slots.name
}

output "table_arn" {
  value = aws_dynamodb_table.slots.arn
}

output "health_table_name" {
  value = aws_dynamodb_table.health.name
}

output "server_instance_profile" {
  value = aws_iam_instance_profile.server.name
}

output "client_instance_profile" {
  value = aws_iam_instance_profile.client.name
}

output "server_role_arn" {
  value = aws_iam_role.server.arn
}

output "client_role_arn" {
  value = aws_iam_role.client.arn
}
