// Placeholder until the command-line front end lands (issue 5).
int main() {
  return 2;
}
